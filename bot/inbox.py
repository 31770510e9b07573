"""Every inbound message, on every channel, goes through here in one transaction.

1. Find or create the contact by a keyed hash of its address (never the address itself).
2. Record the event under its provider id; a redelivery hits the unique constraint and
   is answered with nothing, so it has no second effect.
3. Run the engine on the stored state, apply its effects, save the new state with a
   version check so two workers can never both advance one conversation.
4. Commit, and hand back the replies for the channel to send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import alerts, metrics, outbox, rhi
from bot.channels import Received
from bot.clock import utcnow
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.engine import (
    Context,
    CreateRequest,
    Effect,
    Erase,
    FlagUrgent,
    Inbound,
    OptIn,
    OptOut,
    RecordConsent,
    Reply,
    State,
    WithdrawRequest,
    prompt,
    step,
)
from bot.models import ConsentRecord, Contact, Conversation, InboundEvent

log = logging.getLogger(__name__)

# Stored message text is bounded; the engine still reads what it needs of longer ones.
MAX_STORED_TEXT = 8000
_STALE_RETRIES = 3


@dataclass(frozen=True)
class Outcome:
    """What came of one inbound message."""

    replies: tuple[Reply, ...] = ()
    duplicate: bool = False
    language: str | None = None
    effects: tuple[Effect, ...] = field(default_factory=tuple)


class StaleConversation(Exception):
    """Another worker advanced the conversation first; the message is run again."""


class Inbox:
    """Receives messages: dedupe, engine, effects and state in one transaction."""

    def __init__(self, engine: Engine, vault: Vault, content: Content, target_hours: int,
                 clock: Callable[[], datetime] = utcnow, *,
                 push: frozenset[str] = frozenset(),
                 on_commit: Callable[[], None] | None = None) -> None:
        self.engine, self.vault, self.content = engine, vault, content
        self.target_hours, self.clock = target_hours, clock
        # Channels whose replies go through the outbox (Telegram, SMS); the others
        # (web, terminal) answer in the same request and get the replies back.
        self.push = push
        self.on_commit = on_commit

    def receive(self, message: Received) -> Outcome:
        """Handle one inbound message and return the replies to send."""
        # Lone surrogates can arrive inside JSON ("\ud800"); they can't be stored or shown.
        message = replace(message, text=message.text.encode("utf-8", "replace").decode())
        for _ in range(_STALE_RETRIES):
            try:
                with session_scope(self.engine) as session:
                    outcome = self._receive(session, message)
                metrics.inbound(message.channel, "duplicate" if outcome.duplicate else "accepted")
                if outcome.replies and message.channel in self.push and self.on_commit:
                    self.on_commit()
                return outcome
            except StaleConversation:
                continue
            except IntegrityError:
                # A concurrent delivery of the same event, or a contact created by another
                # worker a moment ago: try again, and the retry sees what they wrote.
                continue
        raise StaleConversation("conversation kept changing under this message")

    def current(self, message: Received) -> Outcome:
        """The current question for this address, changing and recording nothing."""
        with Session(self.engine) as session:
            address_hashes = self.vault.lookup_hashes(message.channel, message.address)
            contact = session.exec(
                select(Contact).where(col(Contact.address_hash).in_(address_hashes))).first()
            conversation = session.get(Conversation, contact.id) if contact else None
            state = self._state(conversation)
            request = rhi.latest(session, contact.id) if contact and contact.id else None
            ctx = Context(now=self.clock(), content=self.content,
                          target_hours=self.target_hours, request=rhi.view(request))
            return Outcome(prompt(state, ctx), language=state.lang)

    def collect(self, channel: str, address: str) -> tuple[Reply, ...]:
        """Messages waiting for this address on a pull channel (a worker's, in the web chat)."""
        with session_scope(self.engine) as session:
            contact = session.exec(select(Contact).where(
                col(Contact.address_hash).in_(self.vault.lookup_hashes(channel, address)))).first()
            if contact is None or contact.id is None:
                return ()
            return tuple(outbox.collect(session, self.vault, contact.id, self.clock()))

    def _receive(self, session: Session, message: Received) -> Outcome:
        now = self.clock()
        # Any key of the ring finds the contact; a new one is stored under the current key.
        address_hashes = self.vault.lookup_hashes(message.channel, message.address)
        address_hash = address_hashes[0]
        if session.exec(
            select(InboundEvent.id).where(InboundEvent.channel == message.channel,
                                          InboundEvent.provider_id == message.provider_id)
        ).first():
            log.info("duplicate inbound event ignored", extra={"channel": message.channel})
            return Outcome(duplicate=True)
        contact = session.exec(
            select(Contact).where(col(Contact.address_hash).in_(address_hashes))).first()
        if contact is None:
            contact = Contact(channel=message.channel, address_hash=address_hash,
                              address_enc=self.vault.seal(message.address), created_at=now,
                              last_seen_at=now)
            session.add(contact)
            session.flush()
        assert contact.id is not None
        session.add(InboundEvent(channel=message.channel, provider_id=message.provider_id,
                                 contact_id=contact.id, received_at=now,
                                 text_enc=self.vault.seal(message.text[:MAX_STORED_TEXT])))
        session.flush()

        conversation = session.get(Conversation, contact.id)
        state = self._state(conversation)
        version = conversation.version if conversation else 0
        ctx = Context(now=now, content=self.content, target_hours=self.target_hours,
                      request=rhi.view(rhi.latest(session, contact.id)),
                      new_reference=rhi.new_reference())
        inbound = Inbound(text=message.text, channel=message.channel, payload=message.payload,
                          lang_hint=message.lang_hint, media=message.media)
        result = step(state, inbound, ctx)

        for effect in result.effects:
            self._apply(session, contact, message.channel, effect, now)
        if message.channel in self.push:
            outbox.enqueue(session, self.vault, key=f"in:{message.channel}:{message.provider_id}",
                           contact_id=contact.id, channel=message.channel,
                           recipient=message.address, language=result.state.lang or state.lang,
                           replies=result.replies, now=now)
        if any(isinstance(e, Erase) for e in result.effects):
            session.delete(contact)
            return Outcome(result.replies, language=state.lang, effects=result.effects)

        contact.language, contact.role, contact.last_seen_at = (
            result.state.lang, result.state.role, now)
        if contact.opted_out_at and not result.state.opted_out and result.replies:
            # Marked unreachable by a provider (a blocked bot), yet writing to us: back again.
            contact.opted_out_at = None
        session.add(contact)
        self._save_state(session, contact.id, conversation, version, result.state, now)
        return Outcome(result.replies, language=result.state.lang, effects=result.effects)

    def _state(self, conversation: Conversation | None) -> State:
        return State.from_json(self.vault.open(conversation.state_enc) if conversation else None)

    def _save_state(self, session: Session, contact_id: int, existing: Conversation | None,
                    version: int, state: State, now: datetime) -> None:
        if existing is None:
            session.add(Conversation(contact_id=contact_id,
                                     state_enc=self.vault.seal(state.to_json()), version=1,
                                     updated_at=now))
            session.flush()
            return
        changed = session.execute(
            update(Conversation)
            .where(col(Conversation.contact_id) == contact_id, col(Conversation.version) == version)
            .values(state_enc=self.vault.seal(state.to_json()), version=version + 1,
                    updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleConversation()

    def _apply(self, session: Session, contact: Contact, channel: str, effect: Effect,
               now: datetime) -> None:
        assert contact.id is not None
        if isinstance(effect, RecordConsent):
            session.add(ConsentRecord(contact_id=contact.id, purpose=effect.purpose,
                                      granted=effect.granted,
                                      wording_version=effect.wording_version,
                                      language=effect.language, channel=channel,
                                      recorded_at=now))
            session.flush()
        elif isinstance(effect, CreateRequest):
            request = rhi.create(session, self.vault, contact.id, channel, effect, now)
            # An urgent contact's new request: its team's duty phone hears at once.
            alerts.urgent(session, self.vault, self.content, request, now)
        elif isinstance(effect, WithdrawRequest):
            rhi.withdraw(session, contact.id, effect.reference, now)
        elif isinstance(effect, FlagUrgent):
            contact.urgent = True
            rhi.flag_urgent(session, contact.id, effect.reason, now)
            # In this transaction, so the duty text is written if and only if the flag is.
            alerts.urgent_for_contact(session, self.vault, self.content, contact.id, now)
        elif isinstance(effect, OptOut):
            contact.opted_out_at = now
            outbox.cancel_pending(session, contact.id, "opted out")
        elif isinstance(effect, OptIn):
            contact.opted_out_at = None
        elif isinstance(effect, Erase):
            self._erase(session, contact, now)

    def _erase(self, session: Session, contact: Contact, now: datetime) -> None:
        """Remove the contact's personal data from every table; requests keep only figures."""
        assert contact.id is not None
        rhi.erase_contact(session, contact.id, now)
        events = select(InboundEvent).where(InboundEvent.contact_id == contact.id)
        for event in session.exec(events):
            event.text_enc = None
            event.contact_id = None
            session.add(event)
        conversation = session.get(Conversation, contact.id)
        if conversation is not None:
            session.delete(conversation)
        session.flush()
