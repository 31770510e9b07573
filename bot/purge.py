"""Retention: `adref purge` clears what young people wrote once it is no longer needed.

A contact is *held* while one of their requests is open (queued or claimed), or ended
(closed or withdrawn) less than RETENTION_DAYS ago: the worker may still need the
conversation. With the cut-off at now - RETENTION_DAYS:

1. inbound message text: cleared once received before the cut-off, unless its contact
   is held. The row stays (provider id, time): it dedupes redeliveries, and holds
   nothing a person wrote.
2. outbox messages (text and recipient, sealed): the row is deleted once created before
   the cut-off, unless its contact is held or it is being sent right now. A message
   that could not go out in RETENTION_DAYS is not sent later. Carer sheets included:
   the audit trail keeps that a sheet was sent, never the number.
3. a request's note and contact phone: cleared once it ended before the cut-off. Kept:
   everything the queue and the reports read (status, area, times, flags, outcome), and
   the practitioner's safeguarding record: the outcome, its note and where a transfer
   went, the timeline and the consent records. Those follow the council's own records
   schedule for safeguarding case records, not this service's retention period.
4. contacts last seen before the cut-off, not held and not opted out: deleted, address
   and keyed hash with them, and their conversation (ON DELETE CASCADE). Requests,
   consents and events lose the link (SET NULL) and keep their figures. Writing again
   starts afresh. A contact who said STOP (or blocked the bot) is kept: that row is how
   Adref knows never to text that number again (a duty phone, say). Remembering who
   asked not to be contacted is the one use that outlasts the rest.
5. the conversation of a contact kept by step 4 (held, or opted out) that has been quiet
   since before the cut-off: its answers so far, leaflet and page are forgotten, back at
   its menu; the language, role, STOP and the urgent flag (a safeguarding signal, not
   their words) are kept.

Every step goes in batches, each its own transaction, each statement repeating its
condition, so the service keeps running, an interrupted purge loses nothing, and two at
once are harmless (the second finds nothing left). On PostgreSQL an advisory lock lets
one process do it while the others skip. Only counts are ever printed or logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, exists, func, or_, text, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from bot import audit
from bot.crypto import Vault, VaultError
from bot.db import has_row_locks, session_scope
from bot.engine import State
from bot.engine.nodes import home
from bot.models import Contact, Conversation, InboundEvent, OutboxMessage, RhiRequest
from bot.rhi import ACTIVE

BATCH = 500
# Any constant both sides agree on: pg_try_advisory_lock's key for "a purge is running".
LOCK_KEY = 0x61647265665F70  # "adref_p"


class AlreadyRunning(Exception):
    """Another process is purging right now; it will do what this one would have."""


@dataclass(frozen=True)
class Purged:
    """How many of each kind a purge removed (or, dry, would remove)."""

    message_texts: int = 0
    outbox_messages: int = 0
    request_details: int = 0
    contacts: int = 0
    conversations: int = 0

    @property
    def total(self) -> int:
        """Everything removed, of every kind."""
        return sum(astuple(self))

    def counts(self) -> dict[str, int]:
        """Kind -> count, in the order they are purged."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def cutoff(now: datetime, retention_days: int) -> datetime:
    """The instant before which (inclusive) retained data is due to go."""
    return now - timedelta(days=retention_days)


def forgotten(state: State) -> State:
    """A quiet conversation as purge leaves it: at its menu, nothing they answered."""
    kept = State(lang=state.lang, role=state.role, opted_out=state.opted_out,
                 urgent=state.urgent)
    # One that never got past the greeting stays there, so purging it again is a no-op.
    return kept if state.node == "new" else replace(kept, node=home(kept))


def _held(contact_id: Any, before: datetime) -> ColumnElement[bool]:
    """SQL: this contact has a request open, or one that ended after `before`."""
    r = RhiRequest
    ended = func.coalesce(col(r.closed_at), col(r.withdrawn_at), col(r.created_at))
    return exists().where(col(r.contact_id) == contact_id,
                          or_(col(r.status).in_(ACTIVE), ended > before))


@dataclass(frozen=True)
class _Rule:
    """One kind of row, when it is due, and what is done to it."""

    kind: str
    model: type[SQLModel]
    key: Any  # the primary key column, for batches
    due: Callable[[datetime], ColumnElement[bool]]
    clear: dict[str, None] | None  # columns set to NULL; None deletes the row


RULES = (
    _Rule("message_texts", InboundEvent, col(InboundEvent.id), lambda before: and_(
        col(InboundEvent.text_enc).is_not(None), col(InboundEvent.received_at) <= before,
        ~_held(col(InboundEvent.contact_id), before)), {"text_enc": None}),
    _Rule("outbox_messages", OutboxMessage, col(OutboxMessage.id), lambda before: and_(
        col(OutboxMessage.created_at) <= before, col(OutboxMessage.status) != "sending",
        ~_held(col(OutboxMessage.contact_id), before)), None),
    _Rule("request_details", RhiRequest, col(RhiRequest.id), lambda before: and_(
        or_(col(RhiRequest.note_enc).is_not(None), col(RhiRequest.contact_phone_enc).is_not(None)),
        col(RhiRequest.status).not_in(ACTIVE),
        func.coalesce(col(RhiRequest.closed_at), col(RhiRequest.withdrawn_at),
                      col(RhiRequest.created_at)) <= before),
        {"note_enc": None, "contact_phone_enc": None}),
    _Rule("contacts", Contact, col(Contact.id), lambda before: and_(
        col(Contact.last_seen_at) <= before, col(Contact.opted_out_at).is_(None),
        ~_held(col(Contact.id), before)), None),
)


def _quiet_conversation(before: datetime) -> ColumnElement[bool]:
    """SQL: quiet since before the cut-off, of a contact that step 4 keeps."""
    kept = exists().where(col(Contact.id) == col(Conversation.contact_id),
                          or_(col(Contact.last_seen_at) > before,
                              col(Contact.opted_out_at).is_not(None),
                              _held(col(Contact.id), before)))
    return and_(col(Conversation.updated_at) <= before, kept)


def purge(engine: Engine, vault: Vault, now: datetime, retention_days: int, *,
          dry_run: bool = False, batch: int = BATCH,
          stop: Callable[[], bool] = lambda: False) -> Purged:
    """Clear what is past retention (or, dry, count it); AlreadyRunning if another is."""
    before = cutoff(now, retention_days)
    if dry_run:
        with Session(engine) as session:
            counted = {rule.kind: session.exec(select(func.count()).select_from(rule.model)
                                               .where(rule.due(before))).one()
                       for rule in RULES}
        return Purged(**counted, conversations=_conversations(engine, vault, before, batch,
                                                               stop, dry_run=True))
    with only_one(engine) as won:
        if not won:
            raise AlreadyRunning()
        done = {rule.kind: _apply(engine, rule, before, batch, stop) for rule in RULES}
        purged = Purged(**done, conversations=_conversations(engine, vault, before, batch,
                                                              stop, dry_run=False))
    if purged.total:
        with session_scope(engine) as session:
            audit.record(session, None, "data.purged", at=now, retention_days=retention_days,
                         **purged.counts())
    return purged


def _apply(engine: Engine, rule: _Rule, before: datetime, batch: int,
           stop: Callable[[], bool]) -> int:
    """Clear or delete one rule's due rows, a batch per transaction; how many."""
    key = rule.key
    done, after = 0, None
    while not stop():
        with session_scope(engine) as session:
            query = select(key).where(rule.due(before))
            if after is not None:
                query = query.where(key > after)
            ids = list(session.exec(query.order_by(key).limit(batch)).all())
            if ids:
                change = (delete(rule.model) if rule.clear is None
                          else update(rule.model).values(rule.clear))
                # The condition again: a row that changed since the SELECT is left alone.
                done += session.execute(
                    change.where(key.in_(ids), rule.due(before))
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
        if len(ids) < batch:
            break
        after = ids[-1]
    return done


def _conversations(engine: Engine, vault: Vault, before: datetime, batch: int,
                   stop: Callable[[], bool], *, dry_run: bool) -> int:
    """Forget the answers of quiet conversations that stay (step 5); how many."""
    c = Conversation
    done, after = 0, None
    while not stop():
        with session_scope(engine) as session:
            query = select(c.contact_id, c.state_enc, c.version).where(
                _quiet_conversation(before))
            if after is not None:
                query = query.where(col(c.contact_id) > after)
            rows = list(session.exec(query.order_by(col(c.contact_id)).limit(batch)).all())
            for contact_id, sealed, version in rows:
                try:
                    state = State.from_json(vault.open(sealed))
                except VaultError:
                    continue  # under a key this process lacks: `adref keys check` says so
                kept = forgotten(state)
                if kept == state:
                    continue
                if dry_run:
                    done += 1
                    continue
                # The version check the inbox uses: a message that arrived meanwhile wins,
                # and one arriving next is run against the forgotten state.
                done += session.execute(
                    update(c).where(col(c.contact_id) == contact_id, col(c.version) == version)
                    .values(state_enc=vault.seal(kept.to_json()), version=version + 1)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
        if len(rows) < batch:
            break
        after = rows[-1][0]
    return done


@contextmanager
def only_one(engine: Engine) -> Iterator[bool]:
    """Whether this process may purge now: on PostgreSQL, one process at a time."""
    if not has_row_locks(engine):
        # SQLite is one machine whose writers already take turns, and every step is
        # conditional: a second purge at once finds nothing left to do.
        yield True
        return
    # A session-level lock on a connection of its own, held between the batches'
    # transactions, and released even if the purge fails.
    with engine.connect() as connection:
        won = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": LOCK_KEY}).scalar())
        connection.commit()
        try:
            yield won
        finally:
            if won:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.commit()
