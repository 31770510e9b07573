"""Telling a team that a request has become urgent: a text to its duty phone.

1. `urgent` is called in the inbox's transaction when a request becomes urgent (danger
   words from someone with an open request) or an urgent contact makes a request.
2. It texts every team whose areas cover the request's area. A request whose area the
   young person wasn't sure of texts every team: any team's manager may route it
   (bot/casework.py), and danger must not wait for routing.
3. Once per request and team: the outbox key `urgent:<request id>:<team id>` is unique,
   so a second danger message, or a redelivered one, writes nothing more.
4. Never to an opted-out number: a duty phone that has texted STOP to Adref is an
   opted-out contact, and gets nothing (the dispatcher's own check then holds too).
5. The words are neutral and hold no personal data, Welsh then English: the reference
   and "see the dashboard". A duty phone is often a shared handset.

The dashboard's banner (`waiting`) is the same alarm for whoever is signed in.

The phone numbers that staff type in (a duty phone here, a carer's number in
webhooks/dashboard/carers.py) are checked by `uk_mobile` below: texts need a mobile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from phonenumbers import PhoneNumberType
from sqlmodel import Session, col, select

from bot import audit, outbox, queue
from bot.casework import Actor
from bot.content import Content
from bot.crypto import Vault
from bot.engine import Reply
from bot.models import Contact, OutboxMessage, RhiRequest, Team
from bot.rhi import ACTIVE

log = logging.getLogger(__name__)

KEY_PREFIX = "urgent"
# The banner names this many references; the rest are one link away.
SHOWN = 10


class NotAMobile(ValueError):
    """The number is not a UK mobile; the message key says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def uk_mobile(number: str) -> str:
    """The number in E.164 ("+447911123456") if it is a valid UK mobile; NotAMobile if not."""
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException as error:
        raise NotAMobile("dash.carers.invalid") from error
    # +44, not region GB: Guernsey, Jersey and Man mobiles (07911 12...) are UK numbers too.
    if parsed.country_code != 44 or not phonenumbers.is_valid_number(parsed):
        raise NotAMobile("dash.carers.invalid")
    if phonenumbers.number_type(parsed) != PhoneNumberType.MOBILE:
        raise NotAMobile("dash.carers.landline")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """Enough of a number to tell two apart, not to call it: "+44 7••• ••• 456"."""
    national = e164.removeprefix("+44")
    return f"+44 {national[:1]}••• ••• {national[-3:]}"


def set_duty_phone(session: Session, vault: Vault, team: Team, number: str | None) -> str | None:
    """Set the team's duty phone (a UK mobile), or clear it with None; return it in E.164."""
    e164 = uk_mobile(number) if number is not None else None
    team.duty_phone_enc = vault.seal(e164) if e164 else None
    session.add(team)
    assert team.id is not None
    audit.record(session, None, "team.duty_phone_set" if e164 else "team.duty_phone_cleared",
                 team=team.id)
    return e164


def duty_phone(vault: Vault, team: Team) -> str | None:
    """The team's duty phone in E.164, if it has one."""
    return vault.open(team.duty_phone_enc) if team.duty_phone_enc else None


def key(request: RhiRequest, team: Team) -> str:
    """The outbox key of the one text about this request to this team."""
    return f"{KEY_PREFIX}:{request.id}:{team.id}"


def urgent(session: Session, vault: Vault, content: Content, request: RhiRequest,
           now: datetime) -> int:
    """Text the duty phone of every team covering the request's area, once each.

    Returns how many texts were written: none for a request that is not urgent or no
    longer open, for teams without a duty phone, already told, or opted out.
    """
    if not request.urgent or request.status not in ACTIVE:
        return 0
    assert request.id is not None
    written = 0
    for team in session.exec(select(Team).order_by(col(Team.id))).all():
        phone = duty_phone(vault, team)
        covers = request.area is None or request.area in team.area_codes
        if phone is None or not covers or _already(session, key(request, team)):
            continue
        contact = session.exec(select(Contact).where(
            col(Contact.address_hash).in_(vault.lookup_hashes("sms", phone)))).first()
        if contact is not None and contact.opted_out_at is not None:
            log.warning("duty phone has opted out; not texted", extra={"team": team.id})
            continue
        text = content.both("alert.urgent", reference=request.reference)
        outbox.enqueue(session, vault, key=key(request, team),
                       contact_id=contact.id if contact else None, channel="sms",
                       recipient=phone, language=None, replies=[Reply(text)],
                       now=now)
        written += 1
    return written


def urgent_for_contact(session: Session, vault: Vault, content: Content, contact_id: int,
                       now: datetime) -> int:
    """Text the teams about each of the contact's open urgent requests not yet told."""
    requests = session.exec(
        select(RhiRequest).where(RhiRequest.contact_id == contact_id,
                                 col(RhiRequest.urgent).is_(True),
                                 col(RhiRequest.status).in_(ACTIVE))
        .order_by(col(RhiRequest.id))).all()
    return sum(urgent(session, vault, content, request, now) for request in requests)


def _already(session: Session, prefix: str) -> bool:
    return session.exec(select(OutboxMessage.id).where(
        col(OutboxMessage.idempotency_key).startswith(f"{prefix}:"))).first() is not None


@dataclass(frozen=True)
class Waiting:
    """Urgent requests nobody has claimed yet, as the dashboard's banner shows them."""

    references: tuple[str, ...] = ()
    more: bool = False


def waiting(session: Session, actor: Actor, limit: int = SHOWN) -> Waiting:
    """The actor's visible urgent requests still queued, nearest deadline first."""
    rows = session.exec(
        select(RhiRequest.reference)
        .where(queue.visible(actor), col(RhiRequest.urgent).is_(True),
               col(RhiRequest.status) == "queued")
        .order_by(col(RhiRequest.due_at), col(RhiRequest.id))
        .limit(limit + 1)).all()
    return Waiting(tuple(rows[:limit]), len(rows) > limit)
