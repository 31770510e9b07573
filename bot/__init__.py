"""Adref's domain: conversation, content, safety, storage and the request queue."""
