"""Adref's tests."""
