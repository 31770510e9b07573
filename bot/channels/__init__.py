"""Channel adapters: turn a channel's messages into `Received` and replies into its format."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    """A message as a channel adapter hands it over."""

    channel: str
    address: str
    provider_id: str
    text: str
    payload: str | None = None
    lang_hint: str | None = None
    media: bool = False
