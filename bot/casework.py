"""What practitioners do with a request: see it, claim it, release it, hand it on.

Who may see what is decided here, once, not in each page: a practitioner sees the
requests for their team's areas; a request whose area the young person wasn't sure of
goes to managers for routing; admins see every area. Everything else is a 404 to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.crypto import Vault
from bot.db import has_row_locks
from bot.models import OUTCOMES, RhiRequest
from bot.rhi import event

ROLES = ("practitioner", "manager", "admin")


@dataclass(frozen=True)
class Actor:
    """A signed-in practitioner, as casework needs them."""

    id: int
    role: str
    areas: frozenset[str]

    @property
    def label(self) -> str:
        """How the request timeline names them: never by name or email."""
        return f"practitioner:{self.id}"


@dataclass(frozen=True)
class ClaimResult:
    """What came of a claim: won, or who already has it."""

    claimed: bool
    holder: int | None = None


class NotVisible(LookupError):
    """No such request, or not one this actor may see: the same answer for both."""


def may_see(actor: Actor, request: RhiRequest) -> bool:
    """True when the request is in the actor's areas (or for routing, a manager's)."""
    if actor.role == "admin":
        return True
    if request.area is None:
        return actor.role == "manager"
    return request.area in actor.areas


def find(session: Session, actor: Actor, reference: str) -> RhiRequest:
    """The request with this reference if the actor may see it; NotVisible otherwise."""
    request = session.exec(select(RhiRequest).where(RhiRequest.reference == reference)).first()
    if request is None or not may_see(actor, request):
        raise NotVisible(reference)
    return request


def claim(session: Session, actor: Actor, reference: str, now: datetime) -> ClaimResult:
    """Take a queued request. Two practitioners at once: exactly one wins.

    1. Read the request if it is still queued and unclaimed. On PostgreSQL the read locks
       the row, and skips it if another claim has it locked: that claim is ahead. SQLite
       has no row locks, but its writers take turns (BEGIN IMMEDIATE, bot.db).
    2. Claim it with one conditional UPDATE that only changes a row still queued and
       unclaimed; whoever changes no row has lost.
    3. The loser reads the row again once the winner's transaction has ended (on
       PostgreSQL, FOR SHARE waits for it), and is told who won.
    """
    request = find(session, actor, reference)
    still_open = (col(RhiRequest.id) == request.id, col(RhiRequest.status) == "queued",
                  col(RhiRequest.claimed_by).is_(None))
    claimable = select(RhiRequest.id).where(*still_open)
    locks_rows = has_row_locks(session.get_bind())
    if locks_rows:
        # NO KEY: the lock an UPDATE takes anyway. It still lets other transactions add
        # to the request's timeline (rows that refer to it) while the claim commits.
        claimable = claimable.with_for_update(skip_locked=True, key_share=True)
    if session.exec(claimable).first() is not None:
        won = session.exec(
            update(RhiRequest)
            .where(*still_open)
            .values(status="claimed", claimed_by=actor.id, claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if won:
            session.refresh(request)
            event(session, request, "claimed", actor.label, now)
            return ClaimResult(True, actor.id)
    session.refresh(request, with_for_update={"read": True} if locks_rows else None)
    return ClaimResult(False, request.claimed_by)


def release(session: Session, actor: Actor, reference: str, now: datetime) -> bool:
    """Put a request the actor holds (or, for a manager, anyone holds) back in the queue."""
    request = find(session, actor, reference)
    if request.status != "claimed" or (
        request.claimed_by != actor.id and actor.role not in ("manager", "admin")
    ):
        return False
    request.status, request.claimed_by, request.claimed_at = "queued", None, None
    session.add(request)
    event(session, request, "released", actor.label, now)
    return True


def reassign(session: Session, actor: Actor, reference: str, to: Actor, now: datetime) -> bool:
    """A manager gives an open request to a practitioner who may see it."""
    request = find(session, actor, reference)
    if actor.role not in ("manager", "admin") or request.status not in ("queued", "claimed"):
        return False
    if not may_see(to, request):
        return False
    request.status, request.claimed_by, request.claimed_at = "claimed", to.id, now
    session.add(request)
    event(session, request, "reassigned", actor.label, now, to=to.label)
    return True


def route(session: Session, actor: Actor, reference: str, area: str, now: datetime) -> bool:
    """Send a request to another area's queue (a manager's job); it is unclaimed again."""
    request = find(session, actor, reference)
    if actor.role not in ("manager", "admin") or request.status not in ("queued", "claimed"):
        return False
    previous = request.area
    request.area, request.status, request.claimed_by, request.claimed_at = (
        area, "queued", None, None)
    session.add(request)
    event(session, request, "routed", actor.label, now, from_area=previous, to_area=area)
    return True


CONTACT_HOW = ("chat", "phone", "text", "in_person")
MAX_TRANSFERRED_TO = 120


def may_work_on(actor: Actor, request: RhiRequest) -> bool:
    """True for the practitioner holding an open request, and for managers and admins."""
    if request.status not in ("queued", "claimed"):
        return False
    return request.claimed_by == actor.id or actor.role in ("manager", "admin")


def log_contact_attempt(session: Session, actor: Actor, reference: str, how: str,
                        reached: bool, now: datetime) -> bool:
    """Note a try at reaching the young person; the first that got through is first contact."""
    request = find(session, actor, reference)
    if how not in CONTACT_HOW or not may_work_on(actor, request):
        return False
    if reached and request.first_contact_at is None:
        request.first_contact_at = now
        session.add(request)
    event(session, request, "contact_attempt", actor.label, now, how=how, reached=reached)
    return True


def record_outcome(session: Session, vault: Vault, actor: Actor, reference: str, outcome: str,
                   now: datetime, *, note: str = "", transferred_to: str = "",
                   welsh_speaker: bool | None = None) -> bool:
    """Close a request with its outcome (and a sealed note, and where a transfer went).

    welsh_speaker says whether the worker who had it speaks Welsh: for a young person who
    asked for a Welsh-speaking worker, the Active Offer's result is kept with the request.
    """
    request = find(session, actor, reference)
    transferred_to = transferred_to.strip()[:MAX_TRANSFERRED_TO]
    if outcome not in OUTCOMES or not may_work_on(actor, request):
        return False
    if outcome == "transferred" and not transferred_to:
        return False
    request.outcome, request.status, request.closed_at = outcome, "closed", now
    request.outcome_note_enc = vault.seal(note.strip()) if note.strip() else None
    request.transferred_to = transferred_to if outcome == "transferred" else None
    if request.welsh_worker:
        request.welsh_worker_given = bool(welsh_speaker)
    session.add(request)
    event(session, request, "outcome", actor.label, now, outcome=outcome)
    return True
