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

from bot.models import RhiRequest
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

    The claim is one conditional UPDATE that only changes a row still queued and
    unclaimed; whoever's UPDATE changes no row has lost, and is told who won.
    """
    request = find(session, actor, reference)
    won = session.execute(
        update(RhiRequest)
        .where(col(RhiRequest.id) == request.id, col(RhiRequest.status) == "queued",
               col(RhiRequest.claimed_by).is_(None))
        .values(status="claimed", claimed_by=actor.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1  # type: ignore[attr-defined]
    session.refresh(request)
    if won:
        event(session, request, "claimed", actor.label, now)
        return ClaimResult(True, actor.id)
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
