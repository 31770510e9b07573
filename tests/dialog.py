"""Conversations as data: what the person says, and what the bot's reply must contain.

In the style of zulip_bots' verify_dialog: a test is a list of (user says, bot says)
pairs. "Bot says" is a fragment (or a tuple of fragments) that must appear in the replies
to that message, so a dialog reads like the conversation it tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.channels import Received
from bot.content import Content
from bot.engine import Context, Inbound, RequestView, State, Step, step
from bot.inbox import Inbox, Outcome

Expect = str | tuple[str, ...]
Dialog = Sequence[tuple[str, Expect]]
_ids = itertools.count(1)


@dataclass(frozen=True)
class Press:
    """A button pressed in a dialog: the option's key is sent, with no text typed."""

    key: str


EngineDialog = Sequence[tuple["str | Press", Expect]]


def send(inbox: Inbox, text: str, *, address: str = "chat-1", channel: str = "web",
         payload: str | None = None) -> Outcome:
    """One message from one person, with a fresh provider id."""
    return inbox.receive(Received(channel=channel, address=address,
                                  provider_id=f"msg-{next(_ids)}", text=text, payload=payload))


def said(outcome: Outcome | Step) -> str:
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


def verify_engine_dialog(content: Content, dialog: EngineDialog, *, now: datetime,
                         state: State | None = None, request: RequestView | None = None,
                         channel: str = "web") -> list[Step]:
    """The same conversation through the pure engine alone: no database, no inbox.

    The state is threaded from step to step; `request` is what the engine is told of the
    person's latest request at every step. Returns the steps for more checks.
    """
    current = state or State()
    steps = []
    for user_says, bot_says in dialog:
        text, payload = ("", user_says.key) if isinstance(user_says, Press) else (user_says, None)
        ctx = Context(now=now, content=content, target_hours=72, request=request,
                      new_reference="TEST-CODE")
        result = step(current, Inbound(text=text, channel=channel, payload=payload), ctx)
        reply = said(result)
        for fragment in (bot_says,) if isinstance(bot_says, str) else bot_says:
            assert fragment in reply, (
                f"after {user_says!r} the bot should say {fragment!r}, but said:\n{reply}"
            )
        steps.append(result)
        current = result.state
    return steps
