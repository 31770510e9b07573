"""Conversations as data: what the person says, and what the bot's reply must contain.

In the style of zulip_bots' verify_dialog: a test is a list of (user says, bot says)
pairs. "Bot says" is a fragment (or a tuple of fragments) that must appear in the replies
to that message, so a dialog reads like the conversation it tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.inbox import Inbox, Outcome, Received

Expect = str | tuple[str, ...]
Dialog = Sequence[tuple[str, Expect]]
_ids = itertools.count(1)


def send(inbox: Inbox, text: str, *, address: str = "chat-1", channel: str = "web",
         payload: str | None = None) -> Outcome:
    """One message from one person, with a fresh provider id."""
    return inbox.receive(Received(channel=channel, address=address,
                                  provider_id=f"msg-{next(_ids)}", text=text, payload=payload))


def said(outcome: Outcome) -> str:
    """Everything the bot said in reply, options included, as one text."""
    parts = []
    for reply in outcome.replies:
        parts.append(reply.text)
        parts.extend(option.label for option in reply.options)
    return "\n".join(parts)


def verify_dialog(inbox: Inbox, dialog: Dialog, *, address: str = "chat-1",
                  channel: str = "web") -> list[Outcome]:
    """Hold the conversation and check every reply; return the outcomes for more checks."""
    outcomes = []
    for user_says, bot_says in dialog:
        outcome = send(inbox, user_says, address=address, channel=channel)
        reply = said(outcome)
        for fragment in (bot_says,) if isinstance(bot_says, str) else bot_says:
            assert fragment in reply, (
                f"after {user_says!r} the bot should say {fragment!r}, but said:\n{reply}"
            )
        outcomes.append(outcome)
    return outcomes
