"""Counting what a run left behind: replies at the fakes, rows in the database.

A run's rows are those above the highest ids before it (`mark_before`), and its replies
those the fakes received after it, so a database and fakes kept between runs (PostgreSQL,
or a second load on the same server) give the same counts. A chat's replies arrive in the
order they were written (the dispatcher sends only a contact's oldest unsent message), and
the dialogue says how many replies each message gets: so each reply is matched to its
message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bench.conversations import Conversation, Load
from bot.models import InboundEvent, OutboxMessage, RhiRequest
from tests.fakes import Call
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI

# After the last webhook is answered, the dispatchers get this long to send what is left.
DRAIN_SECONDS = 60.0
UNSENT = ("pending", "sending")


@dataclass
class Marks:
    """The highest row ids and the fakes' call counts before the run: what comes after is
    this run's."""

    request: int = 0
    event: int = 0
    outbox: int = 0
    telegram_calls: int = 0
    twilio_calls: int = 0


@dataclass
class Check:
    """Exactly-once, counted: replies at the fakes, rows in the database."""

    replies: int = 0
    expected_replies: int = 0
    chats: int = 0
    requests: int = 0
    events: int = 0
    messages: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when nothing was missing, doubled or refused."""
        return not self.problems


def mark_before(engine: Engine, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI) -> Marks:
    """The highest ids and the calls so far, before the run."""
    with Session(engine) as session:
        return Marks(
            request=session.exec(select(func.max(RhiRequest.id))).one() or 0,
            event=session.exec(select(func.max(InboundEvent.id))).one() or 0,
            outbox=session.exec(select(func.max(OutboxMessage.id))).one() or 0,
            telegram_calls=len(telegram.calls), twilio_calls=len(twilio.calls))


def drain(engine: Engine, marks: Marks, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI,
          conversations: list[Conversation], deadline: float) -> bool:
    """Wait until the fakes have every expected reply and nothing is left unsent."""
    expected = sum(m.replies for c in conversations for m in c.messages)
    until = min(deadline, time.monotonic() + DRAIN_SECONDS)
    while time.monotonic() < until:
        arrived = sum(len(r) for r in collect_replies(telegram, twilio, marks).values())
        # The database is only asked once the fakes look complete: on SQLite, every
        # question is a transaction that would queue with the writers being measured.
        if arrived >= expected and unsent(engine, marks) == 0:
            return True
        time.sleep(0.1)
    return False


def unsent(engine: Engine, marks: Marks) -> int:
    """This run's outbox rows not yet sent."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.id) > marks.outbox, col(OutboxMessage.status).in_(UNSENT))).one()


def collect_replies(telegram: FakeTelegramAPI, twilio: FakeTwilioAPI, marks: Marks
                    ) -> dict[str, list[Call]]:
    """Every message the fakes were asked to send since the marks, by chat or number."""
    replies: dict[str, list[Call]] = {}
    for call in telegram.calls[marks.telegram_calls:]:
        if call.method == "sendMessage":
            replies.setdefault(str(call.params.get("chat_id")), []).append(call)
    for call in twilio.calls[marks.twilio_calls:]:
        if call.method == "Messages.create":
            replies.setdefault(str(call.params.get("To")), []).append(call)
    return replies


def _text(call: Call) -> str:
    return str(call.params.get("text") or call.params.get("Body") or "")


def count(conversations: list[Conversation], load: Load, replies: dict[str, list[Call]],
          engine: Engine, marks: Marks, drained: bool) -> Check:
    """Every expected reply once, in order; one request per person; one event per message."""
    check = Check(chats=len(conversations),
                  messages=sum(len(c.messages) for c in conversations),
                  duplicates=sum(m.twice for c in conversations for m in c.messages))
    problems = check.problems
    if not drained:
        problems.append(f"not every expected reply was sent within {DRAIN_SECONDS:.0f} s of "
                        "the last webhook")
    if load.failures:
        problems.append(f"{len(load.failures)} webhooks failed, e.g. {load.failures[0]}")
    for conversation in conversations:
        calls = replies.get(conversation.address, [])
        wanted = sum(m.replies for m in conversation.messages)
        check.replies += len(calls)
        check.expected_replies += wanted
        if len(calls) != wanted:
            problems.append(f"{conversation.channel} {conversation.address}: "
                            f"{len(calls)} replies, expected {wanted}")
            continue
        position = 0
        for message in conversation.messages:
            said = "\n".join(_text(c) for c in calls[position:position + message.replies])
            position += message.replies
            if message.expect not in said:
                problems.append(f"{conversation.channel} {conversation.address}: after "
                                f"{message.text!r} expected {message.expect!r}")
                break
    strangers = replies.keys() - {c.address for c in conversations}
    if strangers:
        problems.append(f"replies to {len(strangers)} addresses nobody used")
    with Session(engine) as session:
        check.requests = session.exec(select(func.count()).select_from(RhiRequest).where(
            col(RhiRequest.id) > marks.request)).one()
        check.events = session.exec(select(func.count()).select_from(InboundEvent).where(
            col(InboundEvent.id) > marks.event)).one()
    if check.requests != len(conversations):
        problems.append(f"{check.requests} rhi_request rows for {len(conversations)} "
                        "conversations")
    if check.events != check.messages:
        problems.append(f"{check.events} inbound events for {check.messages} messages")
    return check


def reply_latencies(conversations: list[Conversation], load: Load,
                    replies: dict[str, list[Call]]) -> list[float]:
    """Seconds from sending each message to its first reply reaching the fake API.

    A chat's replies arrive in the order they were written (the dispatcher sends a
    contact's oldest unsent message only), so the dialogue's reply counts say which
    reply answers which message.
    """
    latencies = []
    for conversation in conversations:
        calls = replies.get(conversation.address, [])
        position = 0
        for index, message in enumerate(conversation.messages):
            if message.replies and position < len(calls):
                latencies.append(calls[position].at - load.sent_at[(conversation.address, index)])
            position += message.replies
    return latencies
