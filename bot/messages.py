"""A worker's message to a young person, sent by the bot on the young person's own channel.

Neither side sees the other's number: the practitioner types into the dashboard, and the
message goes to the outbox addressed to the contact the young person wrote from (its
address is opened from the vault here and sealed again in the outbox row, never shown).
Telegram and SMS rows are sent by the dispatcher; a web chat row waits for the chat.
Their replies come in through the inbox like any other message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot import outbox
from bot.casework import Actor, find, may_work_on
from bot.content import Content
from bot.crypto import Vault
from bot.engine import Reply
from bot.models import Contact, OutboxMessage
from bot.rhi import event

MAX_CHARS = 1000
KEY_PREFIX = "worker"
SENT, EMPTY, TOO_LONG, NOT_YOURS, UNREACHABLE, DUPLICATE = (
    "sent", "empty", "too_long", "not_yours", "unreachable", "duplicate")


@dataclass(frozen=True)
class Sent:
    """What came of a message: `sent`, or why not (a code the dashboard explains)."""

    result: str
    channel: str | None = None

    @property
    def ok(self) -> bool:
        """True when the message is in the outbox (or already was)."""
        return self.result in (SENT, DUPLICATE)


def key_prefix(request_id: int) -> str:
    """The outbox key prefix of every worker message about one request."""
    return f"{KEY_PREFIX}:{request_id}:"


def send(session: Session, vault: Vault, content: Content, actor: Actor, reference: str,
         text: str, form_id: str, now: datetime) -> Sent:
    """Put a worker's message to the young person in the outbox, with a neutral opening.

    1. The request must be one the actor may see (NotVisible otherwise) and work on.
    2. The young person must still be reachable: not erased, not opted out.
    3. form_id (one per dashboard form) keys the outbox row, so a double press sends once.
    4. The opening ("A message from your worker:") is in the young person's language.
    5. The timeline notes it (never the words), and it counts as first contact.
    """
    request = find(session, actor, reference)
    text = text.strip()
    if not text:
        return Sent(EMPTY)
    if len(text) > MAX_CHARS:
        return Sent(TOO_LONG)
    if not may_work_on(actor, request):
        return Sent(NOT_YOURS)
    contact = session.get(Contact, request.contact_id) if request.contact_id else None
    if contact is None or contact.id is None or contact.opted_out_at is not None:
        return Sent(UNREACHABLE)
    assert request.id is not None
    key = f"{key_prefix(request.id)}{form_id}"
    if session.exec(select(OutboxMessage.id).where(
            col(OutboxMessage.idempotency_key).startswith(f"{key}:"))).first():
        return Sent(DUPLICATE, contact.channel)
    language = contact.language or request.language
    body = content.text(language, "worker.message", text=text)
    outbox.enqueue(session, vault, key=key, contact_id=contact.id, channel=contact.channel,
                   recipient=vault.open(contact.address_enc), language=language,
                   replies=[Reply(body)], now=now)
    if request.first_contact_at is None:
        request.first_contact_at = now
        session.add(request)
    event(session, request, "message_sent", actor.label, now, channel=contact.channel)
    return Sent(SENT, contact.channel)
