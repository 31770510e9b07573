"""Durable outbound messages and the dispatcher that sends them.

1. `enqueue` writes replies in the same transaction as the change that caused them, and
   on PostgreSQL wakes the dispatchers of every process when it commits (bot.wake).
2. The dispatcher leases a batch in one transaction: it reads the due rows (on PostgreSQL
   locking them with FOR UPDATE SKIP LOCKED, so dispatchers share the queue instead of
   waiting on each other) and claims them with one conditional UPDATE that changes only
   rows still claimable, so two dispatchers never send the same row. Only a contact's
   oldest unsent message is leased, which keeps each chat in order.
3. It sends outside any transaction, through the channel's sender.
4. It records the result: sent, with the provider's id; a transient error waits with
   exponential backoff (or the provider's retry-after); a permanent one (a blocked bot,
   an opted-out number) is dead, and the contact is marked so nothing more is tried.
5. A lease that expires (a dispatcher that died mid-send) makes the row due again. The
   provider may then get it twice: delivery is at-least-once, and the window is the time
   between the provider accepting a message and the dispatcher recording it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot import metrics
from bot.channels import sms
from bot.clock import utcnow
from bot.crypto import Vault
from bot.db import has_row_locks, session_scope
from bot.engine import Option, Reply
from bot.models import Contact, OutboxMessage
from bot.wake import notify

log = logging.getLogger(__name__)

UNSENT = ("pending", "sending")
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)


class TransportError(Exception):
    """A send that failed.

    `permanent`: never retry this message. `unreachable`: nor any other to this person (a
    blocked bot, an opted-out number), so the contact is marked. A permanent error that
    is ours, not theirs (an account problem), kills the message but marks nobody.
    `retry_after`: the provider's wish, in seconds.
    """

    def __init__(self, message: str, *, permanent: bool = False, unreachable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent or unreachable
        self.unreachable = unreachable
        self.retry_after = retry_after


@dataclass(frozen=True)
class Outgoing:
    """One leased message, opened for sending."""

    id: int
    channel: str
    recipient: str
    text: str
    options: tuple[Option, ...]
    language: str | None


class Sender(Protocol):
    """A channel's way of sending: opened once, then one message at a time."""

    async def start(self) -> None:
        """Open what the sender keeps for its whole life (a client, a connection pool)."""

    async def send(self, message: Outgoing) -> str:
        """Send one message; return the provider's message id, or raise TransportError."""

    async def stop(self) -> None:
        """Close what start opened."""


def enqueue(session: Session, vault: Vault, *, key: str, contact_id: int | None, channel: str,
            recipient: str, language: str | None, replies: Sequence[Reply],
            now: datetime) -> None:
    """Write replies to the outbox, each under `key:n` so a retry can't double them."""
    if channel == "sms":
        # A long reply becomes several texts, split between paragraphs, so that every
        # part fits the segment ceiling and nothing (a helpline!) is cut off.
        replies = [part for reply in replies for part in sms.split(reply, language)]
    for n, reply in enumerate(replies):
        session.add(OutboxMessage(
            idempotency_key=f"{key}:{n}", contact_id=contact_id, channel=channel,
            recipient_enc=vault.seal(recipient), language=language,
            body_enc=vault.seal(reply.text),
            options=json.dumps([[o.key, o.label] for o in reply.options], ensure_ascii=False),
            created_at=now, next_attempt_at=now,
        ))
    if replies and channel != "web":  # the web chat's page collects its own (`collect`)
        notify(session)


class Dispatcher:
    """Leases due messages, sends them through the channel senders, records what happened."""

    def __init__(self, engine: Engine, vault: Vault, senders: Mapping[str, Sender], *,
                 clock: Callable[[], datetime] = utcnow, batch: int = 50,
                 lease: timedelta = timedelta(seconds=60),
                 wake: threading.Event | None = None) -> None:
        self.engine, self.vault, self.senders = engine, vault, senders
        self.clock, self.batch, self.lease_for = clock, batch, lease
        self.wake = wake or threading.Event()

    def lease(self) -> list[Outgoing]:
        """Claim up to a batch of due messages, each contact's oldest unsent one only."""
        now = self.clock()
        earlier = aliased(OutboxMessage)
        due = (
            select(OutboxMessage.id)
            .where(
                col(OutboxMessage.channel).in_(list(self.senders)),
                or_(and_(col(OutboxMessage.status) == "pending",
                         col(OutboxMessage.next_attempt_at) <= now),
                    and_(col(OutboxMessage.status) == "sending",
                         col(OutboxMessage.lease_until) < now)),
                # Nothing written after a contact opted out is ever sent (the STOP
                # acknowledgement is written in the same instant, so it still goes).
                ~exists().where(
                    col(Contact.id) == col(OutboxMessage.contact_id),
                    col(Contact.opted_out_at).is_not(None),
                    col(OutboxMessage.created_at) > col(Contact.opted_out_at),
                ),
                ~exists().where(
                    col(earlier.contact_id) == col(OutboxMessage.contact_id),
                    col(earlier.id) < col(OutboxMessage.id),
                    col(earlier.status).in_(UNSENT),
                ),
            )
            .order_by(col(OutboxMessage.id))
            .limit(self.batch)
        )
        if has_row_locks(self.engine):
            # Lock the rows as they are read. Another dispatcher's scan skips them instead
            # of queueing behind this transaction, and leases the next due rows meanwhile.
            due = due.with_for_update(of=OutboxMessage, skip_locked=True)
        with session_scope(self.engine) as session:
            row_ids = session.exec(due).all()
            if not row_ids:
                return []
            # SQLite has no row locks: only a row still claimable when the UPDATE runs
            # changes, so two dispatchers never lease the same one. (PostgreSQL's locks
            # already ensure it, and the condition holds for every locked row.)
            rows = session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(row_ids),
                       or_(col(OutboxMessage.status) == "pending",
                           col(OutboxMessage.lease_until) < now))
                .values(status="sending", lease_until=now + self.lease_for)
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False)
            ).scalars().all()
            return [Outgoing(
                id=row.id, channel=row.channel, recipient=self.vault.open(row.recipient_enc),
                text=self.vault.open(row.body_enc),
                options=tuple(Option(k, label) for k, label in json.loads(row.options)),
                language=row.language,
            ) for row in sorted(rows, key=lambda row: row.id)]

    async def run_once(self) -> int:
        """Lease one batch and send it; return how many messages were leased."""
        batch = await asyncio.to_thread(self.lease)
        if batch:
            await asyncio.gather(*(self._send(message) for message in batch))
        return len(batch)

    async def _send(self, message: Outgoing) -> None:
        try:
            provider_id = await self.senders[message.channel].send(message)
        except TransportError as error:
            await asyncio.to_thread(self._failed, message, error)
        except Exception as error:  # a bug or an unknown failure: retry later, loudly
            log.exception("send failed unexpectedly", extra={"outbox_id": message.id})
            await asyncio.to_thread(self._failed, message, TransportError(type(error).__name__))
        else:
            await asyncio.to_thread(self._sent, message, provider_id)

    def _sent(self, message: Outgoing, provider_id: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, message.id)
            if row is None:
                return
            row.status, row.provider_message_id = "sent", provider_id
            row.sent_at, row.lease_until, row.attempts = self.clock(), None, row.attempts + 1
            session.add(row)
            metrics.outbound(row.channel, "sent")

    def _failed(self, message: Outgoing, error: TransportError) -> None:
        now = self.clock()
        with session_scope(self.engine) as session:
            row = session.get(OutboxMessage, message.id)
            if row is None:
                return
            row.attempts += 1
            row.last_error, row.lease_until = str(error)[:200], None
            if error.permanent or row.attempts >= MAX_ATTEMPTS:
                row.status = "dead"
                if error.unreachable and row.contact_id is not None:
                    mark_unreachable(session, row.contact_id, now)
                log.warning("outbox message dead", extra={"outbox_id": row.id,
                                                          "permanent": error.permanent})
                metrics.outbound(row.channel, "unreachable" if error.unreachable else "failed")
            else:
                wait = (timedelta(seconds=error.retry_after) if error.retry_after is not None
                        else min(timedelta(seconds=2 ** row.attempts), MAX_BACKOFF))
                row.status, row.next_attempt_at = "pending", now + wait
                metrics.outbound(row.channel, "retry")
            session.add(row)

    async def run(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Send until `stop` is set; wake early when `wake` is set after a commit."""
        while not stop.is_set():
            sent = await self.run_once()
            if sent == 0:
                await asyncio.to_thread(self.wake.wait, poll)
                self.wake.clear()


def collect(session: Session, vault: Vault, contact_id: int, now: datetime) -> list[Reply]:
    """Hand over a pull channel's waiting messages (the web chat's), oldest first.

    The web chat has no provider to push to: a worker's message waits in the outbox
    until the young person's page next asks, and is then marked delivered.
    """
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.contact_id) == contact_id,
               col(OutboxMessage.channel) == "web", col(OutboxMessage.status) == "pending")
        .order_by(col(OutboxMessage.id))
    ).all()
    replies = []
    for row in rows:
        replies.append(Reply(vault.open(row.body_enc)))
        row.status, row.delivery_status, row.sent_at = "delivered", "delivered", now
        session.add(row)
    return replies


def cancel_pending(session: Session, contact_id: int, reason: str) -> None:
    """Give up every unsent message to a contact (they opted out, or can't be reached)."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.contact_id) == contact_id, col(OutboxMessage.status) == "pending")
        .values(status="dead", last_error=reason)
        .execution_options(synchronize_session=False)
    )


def mark_unreachable(session: Session, contact_id: int, now: datetime) -> None:
    """The provider says this contact can't be reached: stop sending, drop what is queued."""
    contact = session.get(Contact, contact_id)
    if contact is not None and contact.opted_out_at is None:
        contact.opted_out_at = now
        session.add(contact)
    cancel_pending(session, contact_id, "contact unreachable")
