"""The terminal channel: `adref chat`, interactive or scripted from standard input."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from bot.engine import Reply
from bot.inbox import Inbox, Received


def render(reply: Reply) -> str:
    """A reply as terminal text, with its choices numbered."""
    lines = [reply.text]
    lines.extend(f"  {n}. {option.label}" for n, option in enumerate(reply.options, start=1))
    return "\n".join(lines)


def run(inbox: Inbox, address: str, lines: Iterable[str], write: Callable[[str], None],
        opening: str | None = None) -> int:
    """Send each line to the bot as one person and write its replies; return lines sent."""
    sent = 0
    if opening is not None:
        _send(inbox, address, opening, write)
    for line in lines:
        _send(inbox, address, line.rstrip("\r\n"), write)
        sent += 1
    return sent


def _send(inbox: Inbox, address: str, text: str, write: Callable[[str], None]) -> None:
    outcome = inbox.receive(Received(channel="console", address=address,
                                     provider_id=uuid.uuid4().hex, text=text))
    for reply in outcome.replies:
        write(render(reply))
        write("")
