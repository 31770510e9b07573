"""The terminal channel: `adref chat`, interactive or scripted from standard input.

If the database or the engine fails on a line, the fixed safe reply (bot/safety.py
`fallback`) is printed instead, as every channel does, and the chat carries on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from bot import safety
from bot.channels import Received
from bot.engine import Reply
from bot.inbox import Inbox, Outcome

# What a person would type to choose each language: the engine understands it anywhere.
LANGUAGE_WORDS = {"cy": "Cymraeg", "en": "English"}


def render(reply: Reply) -> str:
    """A reply as terminal text, with its choices numbered."""
    lines = [reply.text]
    lines.extend(f"  {n}. {option.label}" for n, option in enumerate(reply.options, start=1))
    return "\n".join(lines)


def run(inbox: Inbox, address: str, lines: Iterable[str], write: Callable[[str], None],
        lang: str | None = None) -> int:
    """Send each line to the bot as one person and write its replies; return lines sent.

    1. Choose `lang` for the person if it is not already their language; otherwise show
       where the conversation is (the greeting, or the question a past session left open),
       as the web chat does on a page load.
    2. Send each line and write the replies.
    """
    current = _safely(inbox, lambda: inbox.current(_received(address, "")))
    if lang is not None and current.language != lang:
        _send(inbox, address, LANGUAGE_WORDS[lang], write)
    else:
        _write(current.replies, write)
    sent = 0
    for line in lines:
        _send(inbox, address, line.rstrip("\r\n"), write)
        sent += 1
    return sent


def _received(address: str, text: str) -> Received:
    return Received(channel="console", address=address, provider_id=uuid.uuid4().hex,
                    text=_valid(text))


def _valid(text: str) -> str:
    """Text that can be stored: undecodable bytes become U+FFFD, as in the web chat.

    Bytes that are not UTF-8 (a bad paste, a file in another encoding) reach Python as
    lone surrogates, which cannot be encoded, so storing them would fail.
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _send(inbox: Inbox, address: str, text: str, write: Callable[[str], None]) -> None:
    _write(_safely(inbox, lambda: inbox.receive(_received(address, text))).replies, write)


def _safely(inbox: Inbox, handle: Callable[[], Outcome]) -> Outcome:
    """What handling gave, or, if it failed, the fixed safe reply (logged, nothing personal)."""
    try:
        return handle()
    except Exception as error:
        safety.log_failure("console", error)
        return Outcome((Reply(safety.fallback(inbox.content), urgent=True),))


def _write(replies: tuple[Reply, ...], write: Callable[[str], None]) -> None:
    for reply in replies:
        write(render(reply))
        write("")
