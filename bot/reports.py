"""Monthly figures per area: what most councils could not say about return home interviews.

A month's requests are those created in it; their claims, contacts and outcomes count
whenever they happened. Consents count when they were recorded. Everything is counted in
the database (GROUP BY area, the same SQL on SQLite and PostgreSQL); medians use window
functions, so no request row is ever loaded into Python.

The consent question comes before the young person says where they live, so a refusal
(and a consent that never became a request) has no area: it is counted under the "area
not given" row, which managers and admins see, as they route the "not sure" requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, and_, case, func, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from bot.casework import Actor
from bot.i18n import WALES
from bot.models import OUTCOMES, ConsentRecord, RhiRequest

CONSENT_PURPOSE = "rhi_request"
WITHDRAWAL_WORDING = "withdrawal"  # a consent withdrawn later: not an answer to the question


class hours_between(FunctionElement[float]):  # lower case, like the SQL functions it joins
    """SQL for (later - earlier) in hours, for the dialects Adref runs on."""

    type = Float()
    inherit_cache = True


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_postgresql(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 3600.0)"


@dataclass(frozen=True)
class AreaMonth:
    """One area's figures for one month; area None is "not given / not sure"."""

    area: str | None
    requests: int = 0
    consents_given: int = 0
    consents_refused: int = 0
    median_hours_to_claim: float | None = None
    median_hours_to_contact: float | None = None
    contacted_in_target: int = 0
    outcomes: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    withdrawals: int = 0
    welsh_wanted: int = 0
    welsh_given: int = 0

    @property
    def declines(self) -> int:
        """Interviews the young person declined (the outcome "declined")."""
        return self.outcomes.get("declined", 0)

    @property
    def share_in_target(self) -> float | None:
        """The share of the month's requests first contacted within the target hours."""
        return self.contacted_in_target / self.requests if self.requests else None


def monthly(session: Session, areas: frozenset[str] | None, month_start: datetime,
            month_end: datetime, target_hours: int, *, unsure: bool = False
            ) -> list[AreaMonth]:
    """Per-area figures for requests created in [month_start, month_end).

    areas None means every area (admins); otherwise only those, plus the "area not
    given" row when `unsure` (managers, who route those requests).
    1. Count requests, outcomes, withdrawals, Welsh wanted and given, contacts in target.
    2. Take the medians of the hours to claim and to first contact.
    3. Count consents given and refused at the consent question.
    4. Give every visible area a row, even an empty one.
    """
    r = RhiRequest
    in_month = and_(col(r.created_at) >= month_start, col(r.created_at) < month_end)
    where = and_(in_month, _visible(col(r.area), areas, unsure))
    started = func.coalesce(col(r.returned_at), col(r.created_at))
    in_target = and_(col(r.first_contact_at).is_not(None),
                     hours_between(col(r.first_contact_at), started) <= target_hours)
    counts = session.execute(
        select(col(r.area), func.count(),
               _count(col(r.withdrawn_at).is_not(None)),
               _count(col(r.welsh_worker)),
               _count(and_(col(r.welsh_worker), col(r.welsh_worker_given).is_(True))),
               _count(in_target),
               *(_count(col(r.outcome) == kind) for kind in OUTCOMES))
        .where(where).group_by(col(r.area))
    ).all()
    claim = _medians(session, where, hours_between(col(r.claimed_at), col(r.created_at)))
    contact = _medians(session, where,
                       hours_between(col(r.first_contact_at), col(r.created_at)))
    consents = _consents(session, areas, unsure, month_start, month_end)

    rows: dict[str | None, AreaMonth] = {}
    for area, requests, withdrawn, wanted, given, timely, *by_kind in counts:
        rows[area] = AreaMonth(
            area=area, requests=requests, withdrawals=withdrawn, welsh_wanted=wanted,
            welsh_given=given, contacted_in_target=timely,
            outcomes=dict(zip(OUTCOMES, by_kind, strict=True)),
            median_hours_to_claim=claim.get(area), median_hours_to_contact=contact.get(area))
    for area, (agreed, refused) in consents.items():
        found = rows.get(area, AreaMonth(area=area))
        rows[area] = replace(found, consents_given=agreed, consents_refused=refused)
    for area in (areas or frozenset()) | ({None} if unsure else set()):
        rows.setdefault(area, AreaMonth(area=area))
    return sorted(rows.values(), key=lambda row: (row.area is None, row.area or ""))


def _visible(area: ColumnElement[str | None] | Any, areas: frozenset[str] | None,
             unsure: bool) -> ColumnElement[bool]:
    if areas is None:
        return true()
    seen = area.in_(sorted(areas))
    return or_(seen, area.is_(None)) if unsure else seen


def _count(condition: ColumnElement[bool] | Any) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _medians(session: Session, where: ColumnElement[bool], hours: ColumnElement[float]
             ) -> dict[str | None, float]:
    """The median of `hours` per area, in SQL: the middle one or two rows of each area."""
    area = col(RhiRequest.area)
    ranked = (
        select(area.label("area"), hours.label("hours"),
               func.row_number().over(partition_by=area, order_by=hours).label("n"),
               func.count().over(partition_by=area).label("total"))
        .where(where, hours.is_not(None))
        .subquery()
    )
    # Integer division: 5 rows -> rows 3 and 3; 4 rows -> rows 2 and 3, averaged.
    middle = or_(ranked.c.n == (ranked.c.total + 1) // 2, ranked.c.n == (ranked.c.total + 2) // 2)
    found = session.execute(
        select(ranked.c.area, func.avg(ranked.c.hours)).where(middle).group_by(ranked.c.area)
    ).all()
    return {row_area: float(value) for row_area, value in found}


def _consents(session: Session, areas: frozenset[str] | None, unsure: bool,
              month_start: datetime, month_end: datetime
              ) -> dict[str | None, tuple[int, int]]:
    """Consents given and refused per area of the request they led to (None: none)."""
    c = ConsentRecord
    area = col(RhiRequest.area)
    found = session.execute(
        select(area, _count(col(c.granted)), _count(col(c.granted).is_(False)))
        .select_from(c)
        .outerjoin(RhiRequest, col(RhiRequest.id) == col(c.request_id))
        .where(col(c.purpose) == CONSENT_PURPOSE, col(c.wording_version) != WITHDRAWAL_WORDING,
               col(c.recorded_at) >= month_start, col(c.recorded_at) < month_end,
               _visible(area, areas, unsure))
        .group_by(area)
    ).all()
    return {row_area: (given, refused) for row_area, given, refused in found}


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of a month in Wales and of the month after, in UTC."""
    start = datetime(year, month, 1, tzinfo=WALES)
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=WALES)
    return start.astimezone(UTC), after.astimezone(UTC)


def scope(actor: Actor) -> tuple[frozenset[str] | None, bool]:
    """The areas an actor's reports cover, and whether the "area not given" row is theirs.

    The same rule as casework.may_see: admins see every area, managers also the requests
    whose area the young person was not sure of.
    """
    if actor.role == "admin":
        return None, True
    return actor.areas, actor.role == "manager"
