"""What a practitioner sees of one request: answers, consent, timeline and conversation.

The young person's words (their note, their messages) are opened from the vault only
here, only for a request the practitioner may see, and only because the young person
asked for an interview. Pages show them as text: never as markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.crypto import Vault, VaultError
from bot.messages import key_prefix
from bot.models import (
    ConsentRecord,
    InboundEvent,
    OutboxMessage,
    Practitioner,
    RequestEvent,
    RhiRequest,
)

# Enough to read a whole request's conversation; an older history stays in the database.
MAX_MESSAGES = 300


@dataclass(frozen=True)
class Step:
    """One timeline entry: what happened, who did it (a name, or a role code)."""

    kind: str
    at: datetime
    actor_code: str  # "practitioner", "young_person", "system"
    actor_name: str | None
    detail: dict[str, object]


@dataclass(frozen=True)
class Said:
    """One message in the conversation: from the young person or from a worker."""

    by: str  # "young_person" or "worker"
    at: datetime
    text: str
    status: str | None = None  # a worker message's outbox status


@dataclass(frozen=True)
class CaseFile:
    """Everything the request page shows, opened."""

    request: RhiRequest
    holder: str | None
    holder_speaks_welsh: bool | None
    phone: str | None
    note: str | None
    outcome_note: str | None
    consents: tuple[ConsentRecord, ...]
    timeline: tuple[Step, ...]
    conversation: tuple[Said, ...]


def _open(vault: Vault, blob: bytes | None) -> str | None:
    if blob is None:
        return None
    try:
        return vault.open(blob)
    except VaultError:
        return None  # sealed under a key this process lacks: show nothing, not a crash


def names(session: Session, ids: set[int]) -> dict[int, str]:
    """Practitioners' names by id."""
    if not ids:
        return {}
    rows = session.exec(select(Practitioner.id, Practitioner.name)
                        .where(col(Practitioner.id).in_(sorted(ids)))).all()
    return {pid: name for pid, name in rows if pid is not None}


def _practitioner_id(label: str) -> int | None:
    """The id in a timeline label such as "practitioner:12"."""
    kind, _, number = label.partition(":")
    return int(number) if kind == "practitioner" and number.isdigit() else None


def timeline(session: Session, request_id: int) -> tuple[Step, ...]:
    """The request's steps, oldest first, with practitioners named."""
    events = session.exec(select(RequestEvent).where(RequestEvent.request_id == request_id)
                          .order_by(col(RequestEvent.at), col(RequestEvent.id))).all()
    ids = {_practitioner_id(e.actor) for e in events}
    ids |= {_practitioner_id(str(json.loads(e.detail).get("to", ""))) for e in events}
    named = names(session, {i for i in ids if i is not None})
    steps = []
    for e in events:
        detail = json.loads(e.detail)
        if "to" in detail:  # a reassignment: name who it went to
            to = _practitioner_id(str(detail["to"]))
            detail["to"] = named.get(to) if to is not None else None
        actor = _practitioner_id(e.actor)
        steps.append(Step(e.kind, e.at, e.actor.partition(":")[0],
                          named.get(actor) if actor is not None else None, detail))
    return tuple(steps)


def conversation(session: Session, vault: Vault, request: RhiRequest) -> tuple[Said, ...]:
    """The young person's messages and the workers' messages to them, oldest first."""
    if request.contact_id is None or request.id is None:
        return ()
    theirs = session.exec(
        select(InboundEvent).where(InboundEvent.contact_id == request.contact_id,
                                   col(InboundEvent.text_enc).is_not(None))
        .order_by(col(InboundEvent.id).desc()).limit(MAX_MESSAGES)).all()
    ours = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.contact_id == request.contact_id,
            col(OutboxMessage.idempotency_key).startswith(key_prefix(request.id)))
        .order_by(col(OutboxMessage.id).desc()).limit(MAX_MESSAGES)).all()
    # Newest first from the database (to keep the latest); oldest first on the page.
    said = [Said("young_person", e.received_at, text) for e in reversed(theirs)
            if (text := _open(vault, e.text_enc)) is not None]
    said += [Said("worker", m.created_at, text, m.status) for m in reversed(ours)
             if (text := _open(vault, m.body_enc)) is not None]
    return tuple(sorted(said, key=lambda s: s.at))  # stable: each side keeps its order


def open_case(session: Session, vault: Vault, request: RhiRequest) -> CaseFile:
    """The request with its answers opened, consent, timeline and conversation."""
    assert request.id is not None
    holder = session.get(Practitioner, request.claimed_by) if request.claimed_by else None
    consents = session.exec(select(ConsentRecord).where(ConsentRecord.request_id == request.id)
                            .order_by(col(ConsentRecord.recorded_at))).all()
    return CaseFile(
        request=request,
        holder=holder.name if holder else None,
        holder_speaks_welsh=holder.speaks_welsh if holder else None,
        phone=_open(vault, request.contact_phone_enc),
        note=_open(vault, request.note_enc),
        outcome_note=_open(vault, request.outcome_note_enc),
        consents=tuple(consents),
        timeline=timeline(session, request.id),
        conversation=conversation(session, vault, request),
    )


def team_mates(session: Session, team_id: int | None) -> tuple[Practitioner, ...]:
    """The team's practitioners still able to sign in, by name: who a manager may assign."""
    if team_id is None:
        return ()
    return tuple(session.exec(
        select(Practitioner).where(Practitioner.team_id == team_id,
                                   col(Practitioner.disabled_at).is_(None))
        .order_by(col(Practitioner.name))).all())
