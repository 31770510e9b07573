"""The queue: what each persona sees, in what order, filtered and paged (bot/queue.py),
and the queue page at /dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot import queue
from bot.casework import Actor
from bot.db import session_scope
from bot.queue import Filters
from tests.factories import Dashboard, People, add_request

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
CARDIFF = frozenset({"cardiff", "vale_of_glamorgan"})
GWYNEDD = frozenset({"gwynedd", "anglesey"})


def listed(page: str) -> list[str]:
    """The references the queue's table links to, in order (not the urgent banner's)."""
    table = page[page.index('<table class="queue">'):page.index("</table>")]
    return re.findall(r'href="/dashboard/requests/([A-Z0-9-]+)"', table)


def actors(people: People) -> dict[str, Actor]:
    return {"alice": Actor(people.alice.id, "practitioner", CARDIFF),
            "bob": Actor(people.bob.id, "manager", CARDIFF),
            "charlie": Actor(people.charlie.id, "practitioner", GWYNEDD),
            "dee": Actor(people.dee.id, "admin", frozenset())}


def add(engine: Engine, reference: str, area: str | None, due_in: timedelta, **fields: object
        ) -> None:
    with session_scope(engine) as session:
        add_request(session, area, NOW - timedelta(days=1), reference=reference,
                    due_at=NOW + due_in, **fields)


OPEN = Filters()


def refs(engine: Engine, actor: Actor, filters: Filters = OPEN) -> list[str]:
    with session_scope(engine) as session:
        return [r.reference for r in queue.page(session, actor, filters, NOW).rows]


@pytest.fixture
def mixed(db_engine: Engine, people: People) -> dict[str, Actor]:
    """Cardiff and the Vale: one urgent, one overdue, two in time, one closed; Gwynedd: one;
    and one whose area the young person wasn't sure of."""
    add(db_engine, "CARD-LATE", "cardiff", timedelta(hours=40))
    add(db_engine, "CARD-SOON", "cardiff", timedelta(hours=5))
    add(db_engine, "VALE-OVER", "vale_of_glamorgan", -timedelta(hours=3))
    add(db_engine, "CARD-URGT", "cardiff", timedelta(hours=60), urgent=True)
    add(db_engine, "CARD-SHUT", "cardiff", timedelta(hours=1), status="closed",
        outcome="completed")
    add(db_engine, "CARD-MINE", "cardiff", timedelta(hours=20), status="claimed",
        claimed_by=people.alice.id)
    add(db_engine, "GWYN-0001", "gwynedd", timedelta(hours=10))
    add(db_engine, "UNSR-0001", None, timedelta(hours=30))
    return actors(people)


def test_urgent_comes_first_then_the_overdue_then_the_nearest_deadline(
    db_engine: Engine, mixed: dict[str, Actor]
) -> None:
    assert refs(db_engine, mixed["alice"]) == [
        "CARD-URGT", "VALE-OVER", "CARD-SOON", "CARD-MINE", "CARD-LATE"]


def test_charlie_sees_none_of_cardiffs_requests(db_engine: Engine,
                                                mixed: dict[str, Actor]) -> None:
    assert refs(db_engine, mixed["charlie"]) == ["GWYN-0001"]
    assert refs(db_engine, mixed["charlie"], Filters(area="cardiff")) == []
    assert refs(db_engine, mixed["charlie"], Filters(status="all")) == ["GWYN-0001"]


def test_a_manager_also_sees_requests_to_route_and_an_admin_sees_every_area(
    db_engine: Engine, mixed: dict[str, Actor]
) -> None:
    assert "UNSR-0001" in refs(db_engine, mixed["bob"])
    assert "UNSR-0001" not in refs(db_engine, mixed["alice"])
    assert refs(db_engine, mixed["bob"], Filters(area="unknown")) == ["UNSR-0001"]
    assert set(refs(db_engine, mixed["dee"])) == {
        "CARD-URGT", "VALE-OVER", "CARD-SOON", "CARD-MINE", "CARD-LATE", "GWYN-0001",
        "UNSR-0001"}


def test_filters_by_status_area_overdue_and_urgent(db_engine: Engine,
                                                   mixed: dict[str, Actor]) -> None:
    alice = mixed["alice"]
    assert refs(db_engine, alice, Filters(status="closed")) == ["CARD-SHUT"]
    assert refs(db_engine, alice, Filters(status="claimed")) == ["CARD-MINE"]
    assert refs(db_engine, alice, Filters(area="vale_of_glamorgan")) == ["VALE-OVER"]
    assert refs(db_engine, alice, Filters(overdue=True)) == ["VALE-OVER"]
    assert refs(db_engine, alice, Filters(urgent=True)) == ["CARD-URGT"]
    assert len(refs(db_engine, alice, Filters(status="all"))) == 6
    # A closed request is never overdue, however old its deadline.
    assert "CARD-SHUT" not in refs(db_engine, alice, Filters(status="all", overdue=True))


def test_the_holder_is_named(db_engine: Engine, mixed: dict[str, Actor]) -> None:
    with session_scope(db_engine) as session:
        rows = queue.page(session, mixed["alice"], Filters(), NOW).rows
    assert {r.reference: r.holder for r in rows}["CARD-MINE"] == "Alice"
    assert {r.reference: r.holder for r in rows}["CARD-SOON"] is None


def test_pages_of_fifty(db_engine: Engine, people: People) -> None:
    for n in range(120):
        add(db_engine, f"PAGE-{n:04d}", "cardiff", timedelta(minutes=n))
    alice = actors(people)["alice"]
    with session_scope(db_engine) as session:
        first = queue.page(session, alice, Filters(), NOW)
        last = queue.page(session, alice, Filters(), NOW, offset=100)
    assert first.total == 120 and len(first.rows) == 50
    assert first.rows[0].reference == "PAGE-0000" and first.has_next and not first.has_previous
    assert [r.reference for r in last.rows][-1] == "PAGE-0119"
    assert len(last.rows) == 20 and not last.has_next and last.has_previous


def test_the_queue_page_lists_time_left_area_and_language(
    dashboard: Dashboard, people: People, mixed: dict[str, Actor]
) -> None:
    dashboard.sign_in(people.alice)
    body = dashboard.client.get("/dashboard").get_data(as_text=True)
    found = listed(body)
    assert found == ["CARD-URGT", "VALE-OVER", "CARD-SOON", "CARD-MINE", "CARD-LATE"]
    assert "Overdue by 3 hours" in body and "1 day 16 hours" in body
    assert "Vale of Glamorgan" in body and "GWYN-0001" not in body
    assert "Showing 1 to 5 of 5" in body


def test_the_queue_page_in_welsh_for_charlie(dashboard: Dashboard, people: People,
                                             mixed: dict[str, Actor]) -> None:
    dashboard.sign_in(people.charlie)
    body = dashboard.client.get("/dashboard").get_data(as_text=True)
    assert "GWYN-0001" in body and "CARD-" not in body
    assert "10 awr" in body and "Gwynedd" in body and "Yn aros" in body


def test_the_area_filter_offers_only_the_teams_areas(
    dashboard: Dashboard, people: People, mixed: dict[str, Actor]
) -> None:
    dashboard.sign_in(people.alice)
    body = dashboard.client.get("/dashboard?area=gwynedd&overdue=1").get_data(as_text=True)
    options = re.findall(r'<option value="([a-z_]+)"', body)
    assert "gwynedd" not in options and {"cardiff", "vale_of_glamorgan"} <= set(options)
    # An area outside the team is ignored, so the other filter still applies.
    assert listed(body) == ["VALE-OVER"]
    paged = dashboard.client.get("/dashboard?status=all&page=2").get_data(as_text=True)
    assert "No requests match." in paged
