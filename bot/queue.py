"""The practitioners' queue: the requests one actor may see, filtered, ordered and paged.

Everything happens in one SQL query (and one count), never in Python over every row:
1. Visibility, as bot.casework.may_see decides it: an admin sees every area, a manager
   their team's areas and the requests whose area the young person wasn't sure of, a
   practitioner their team's areas only.
2. The filters asked for: status (open by default: queued and claimed), area, overdue,
   urgent.
3. Urgent first, then the nearest deadline (so overdue ones lead), then the oldest.
4. One page of rows, with the name of whoever holds each request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, false, func, or_, true
from sqlmodel import Session, col, select

from bot.casework import Actor
from bot.models import REQUEST_STATUSES, Practitioner, RhiRequest
from bot.rhi import ACTIVE

PAGE_SIZE = 50
OPEN = "open"
ANY = "all"
STATUS_CHOICES = (OPEN, *REQUEST_STATUSES, ANY)
UNKNOWN_AREA = "unknown"  # the filter value for "the young person wasn't sure"


@dataclass(frozen=True)
class Filters:
    """What the practitioner asked to see; the defaults are the open queue."""

    status: str = OPEN
    area: str | None = None
    overdue: bool = False
    urgent: bool = False


@dataclass(frozen=True)
class QueueRow:
    """One request as the queue lists it: nothing a young person wrote, no numbers."""

    reference: str
    status: str
    urgent: bool
    language: str
    welsh_worker: bool
    area: str | None
    in_care: str
    contact_method: str
    contact_time: str
    due_at: datetime
    created_at: datetime
    holder: str | None


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and how many rows match in all."""

    rows: tuple[QueueRow, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """True when there are rows after this page."""
        return self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        """True when this is not the first page."""
        return self.offset > 0


def visible(actor: Actor) -> ColumnElement[bool]:
    """The SQL form of casework.may_see, for this actor."""
    area = col(RhiRequest.area)
    if actor.role == "admin":
        return true()
    mine = area.in_(sorted(actor.areas)) if actor.areas else false()
    if actor.role == "manager":
        return or_(mine, area.is_(None))
    return mine


def area_choices(actor: Actor, every_area: Sequence[str]) -> tuple[str, ...]:
    """The area codes this actor may filter by (an admin's are all of them)."""
    codes = tuple(every_area) if actor.role == "admin" else tuple(sorted(actor.areas))
    return (*codes, UNKNOWN_AREA) if actor.role in ("manager", "admin") else codes


def _conditions(actor: Actor, filters: Filters, now: datetime) -> list[ColumnElement[bool]]:
    conditions = [visible(actor)]
    status = col(RhiRequest.status)
    if filters.status == OPEN:
        conditions.append(status.in_(ACTIVE))
    elif filters.status in REQUEST_STATUSES:
        conditions.append(status == filters.status)
    if filters.area == UNKNOWN_AREA:
        conditions.append(col(RhiRequest.area).is_(None))
    elif filters.area is not None:
        conditions.append(col(RhiRequest.area) == filters.area)
    if filters.overdue:
        conditions.append(and_(status.in_(ACTIVE), col(RhiRequest.due_at) < now))
    if filters.urgent:
        conditions.append(col(RhiRequest.urgent).is_(True))
    return conditions


def page(session: Session, actor: Actor, filters: Filters, now: datetime, offset: int = 0,
         limit: int = PAGE_SIZE) -> QueuePage:
    """One page of the requests the actor may see that match the filters."""
    conditions = _conditions(actor, filters, now)
    total = session.exec(
        select(func.count()).select_from(RhiRequest).where(*conditions)).one()
    rows = session.exec(
        select(RhiRequest, Practitioner.name)
        .outerjoin(Practitioner, col(Practitioner.id) == col(RhiRequest.claimed_by))
        .where(*conditions)
        .order_by(case((col(RhiRequest.urgent), 0), else_=1), col(RhiRequest.due_at),
                  col(RhiRequest.id))
        .offset(max(offset, 0)).limit(limit)
    ).all()
    return QueuePage(
        rows=tuple(
            QueueRow(r.reference, r.status, r.urgent, r.language, r.welsh_worker, r.area,
                     r.in_care, r.contact_method, r.contact_time, r.due_at, r.created_at,
                     holder)
            for r, holder in rows),
        total=int(total), offset=max(offset, 0), limit=limit)
