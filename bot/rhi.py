"""The return home interview queue: create, withdraw, flag, erase, and list requests."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case
from sqlmodel import Session, col, select

from bot.crypto import Vault
from bot.engine import CreateRequest, RequestView
from bot.models import ConsentRecord, RequestEvent, RhiRequest

ACTIVE = ("queued", "claimed")
# Without 0/O, 1/I/L, so a reference read out over the phone can't be misheard.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """A short, unguessable reference code such as "K7PM-4XQ2" (about 40 bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def event(session: Session, request: RhiRequest, kind: str, actor: str, at: datetime,
          **detail: object) -> None:
    """Add a step to a request's timeline. The detail must never hold personal data."""
    assert request.id is not None
    session.add(RequestEvent(request_id=request.id, kind=kind, actor=actor, at=at,
                             detail=json.dumps(detail, sort_keys=True)))


def create(session: Session, vault: Vault, contact_id: int, channel: str,
           effect: CreateRequest, now: datetime) -> RhiRequest:
    """Queue a request from the engine's answers and link the consent that allowed it."""
    reference = effect.reference
    while session.exec(select(RhiRequest.id).where(RhiRequest.reference == reference)).first():
        reference = new_reference()
    request = RhiRequest(
        reference=reference,
        contact_id=contact_id,
        language=effect.language,
        channel=channel,
        area=effect.area,
        returned_band=effect.returned_band,
        returned_at=effect.returned_at,
        due_at=effect.due_at,
        in_care=effect.in_care,
        contact_method=effect.contact_method,
        contact_time=effect.contact_time,
        contact_phone_enc=vault.seal(effect.contact_phone) if effect.contact_phone else None,
        welsh_worker=effect.welsh_worker,
        note_enc=vault.seal(effect.note) if effect.note else None,
        urgent=effect.urgent,
        created_at=now,
    )
    session.add(request)
    session.flush()
    consent = session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.contact_id == contact_id, col(ConsentRecord.request_id).is_(None),
               ConsentRecord.granted, ConsentRecord.wording_version == effect.consent_version)
        .order_by(col(ConsentRecord.id).desc())
    ).first()
    if consent is not None:
        consent.request_id = request.id
        session.add(consent)
    event(session, request, "created", "young_person", now, urgent=effect.urgent)
    return request


def latest(session: Session, contact_id: int) -> RhiRequest | None:
    """The contact's most recent request, if any."""
    return session.exec(
        select(RhiRequest).where(RhiRequest.contact_id == contact_id)
        .order_by(col(RhiRequest.id).desc())
    ).first()


def view(request: RhiRequest | None) -> RequestView | None:
    """What the engine may know of a request."""
    if request is None:
        return None
    return RequestView(reference=request.reference, status=request.status,
                       due_at=request.due_at, created_at=request.created_at)


def withdraw(session: Session, contact_id: int, reference: str, now: datetime) -> bool:
    """Withdraw the contact's open request with this reference; False if there is none."""
    request = session.exec(
        select(RhiRequest).where(RhiRequest.reference == reference,
                                 RhiRequest.contact_id == contact_id,
                                 col(RhiRequest.status).in_(ACTIVE))
    ).first()
    if request is None:
        return False
    request.status, request.withdrawn_at = "withdrawn", now
    session.add(request)
    event(session, request, "withdrawn", "young_person", now)
    return True


def flag_urgent(session: Session, contact_id: int, reason: str, now: datetime) -> None:
    """Mark the contact's open requests urgent."""
    for request in session.exec(
        select(RhiRequest).where(RhiRequest.contact_id == contact_id,
                                 col(RhiRequest.status).in_(ACTIVE))
    ):
        if not request.urgent:
            request.urgent = True
            session.add(request)
            event(session, request, "flagged_urgent", "system", now, reason=reason)


def erase_contact(session: Session, contact_id: int, now: datetime) -> None:
    """Withdraw open requests and strip every request of the contact's personal data."""
    for request in session.exec(select(RhiRequest).where(RhiRequest.contact_id == contact_id)):
        if request.status in ACTIVE:
            request.status, request.withdrawn_at = "withdrawn", now
        request.note_enc = None
        request.contact_phone_enc = None
        request.contact_id = None
        session.add(request)
        event(session, request, "erased", "young_person", now)


@dataclass(frozen=True)
class QueueRow:
    """One request as the queue lists it: no personal data."""

    reference: str
    status: str
    urgent: bool
    language: str
    area: str | None
    in_care: str
    contact_method: str
    contact_time: str
    welsh_worker: bool
    created_at: datetime
    due_at: datetime


def queue(session: Session, statuses: Sequence[str] = ACTIVE) -> list[QueueRow]:
    """Requests in the given statuses, urgent first, then the nearest deadline."""
    rows = session.exec(
        select(RhiRequest).where(col(RhiRequest.status).in_(statuses))
        .order_by(case((col(RhiRequest.urgent), 0), else_=1), col(RhiRequest.due_at))
    ).all()
    return [
        QueueRow(r.reference, r.status, r.urgent, r.language, r.area, r.in_care,
                 r.contact_method, r.contact_time, r.welsh_worker, r.created_at, r.due_at)
        for r in rows
    ]
