"""Monthly reports (bot/reports.py) and their page and CSV export (webhooks/dashboard/reports.py).

The figures come from tests.factories.seed_november, whose docstring gives the answers.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.casework import Actor
from bot.models import AuditEvent
from bot.reports import AreaMonth, month_bounds, monthly, scope
from tests.factories import Dashboard, People, seed_november

NOVEMBER = month_bounds(2026, 11)


def figures(engine: Engine, areas: frozenset[str] | None, unsure: bool = False,
            *, seed: bool = True) -> dict[str | None, AreaMonth]:
    if seed:
        seed_november(engine)
    with Session(engine) as session:
        rows = monthly(session, areas, *NOVEMBER, 72, unsure=unsure)
    return {row.area: row for row in rows}


def test_it_counts_a_seeded_month_right(db_engine: Engine) -> None:
    rows = figures(db_engine, None)
    assert set(rows) == {"cardiff", "vale_of_glamorgan", "gwynedd", None}
    cardiff = rows["cardiff"]
    assert (cardiff.requests, cardiff.consents_given, cardiff.consents_refused) == (4, 4, 0)
    assert cardiff.median_hours_to_claim == pytest.approx(4)
    assert cardiff.median_hours_to_contact == pytest.approx(24)
    assert cardiff.contacted_in_target == 2 and cardiff.share_in_target == 0.5
    assert dict(cardiff.outcomes) == {"completed": 1, "declined": 1, "unable_to_contact": 1,
                                      "transferred": 0, "withdrawn": 0}
    assert (cardiff.declines, cardiff.withdrawals) == (1, 1)
    assert (cardiff.welsh_wanted, cardiff.welsh_given) == (2, 1)
    vale = rows["vale_of_glamorgan"]
    assert (vale.requests, vale.outcomes["transferred"], vale.contacted_in_target) == (1, 1, 1)
    assert vale.median_hours_to_claim == pytest.approx(1)
    assert vale.median_hours_to_contact == pytest.approx(8)
    gwynedd = rows["gwynedd"]
    assert gwynedd.requests == 2 and gwynedd.median_hours_to_claim == pytest.approx(4)
    unsure = rows[None]
    assert (unsure.requests, unsure.consents_given, unsure.consents_refused) == (1, 0, 2)
    assert unsure.median_hours_to_claim is None and unsure.share_in_target == 0


def test_a_practitioner_sees_only_their_areas_and_every_one_of_them(db_engine: Engine) -> None:
    rows = figures(db_engine, frozenset({"cardiff", "vale_of_glamorgan"}))
    assert set(rows) == {"cardiff", "vale_of_glamorgan"}
    charlie = figures(db_engine, frozenset({"gwynedd", "anglesey"}), seed=False)
    assert set(charlie) == {"gwynedd", "anglesey"} and charlie["anglesey"].requests == 0
    assert charlie["gwynedd"].requests == 2


def test_a_manager_also_sees_the_area_not_given(db_engine: Engine) -> None:
    areas, unsure = scope(Actor(1, "manager", frozenset({"cardiff"})))
    rows = figures(db_engine, areas, unsure)
    assert set(rows) == {"cardiff", None} and rows[None].consents_refused == 2
    assert scope(Actor(2, "admin", frozenset())) == (None, True)


def _csv(response: object) -> list[list[str]]:
    data = response.get_data()  # type: ignore[attr-defined]
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _table(html: str) -> dict[str, list[str]]:
    """The report table's rows by heading: figure name -> a value per area."""
    body = html.split('<table class="report">')[1].split("</table>")[0]
    rows: dict[str, list[str]] = {}
    for line in body.split("<tr>")[1:]:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", line, re.S)
        rows[re.sub(r"<[^>]+>", "", cells[0]).strip()] = [c.strip() for c in cells[1:]]
    return rows


def test_alice_sees_cardiffs_month_and_the_csv_matches_the_table(
    client: FlaskClient, dashboard: Dashboard, people: People, db_engine: Engine
) -> None:
    seed_november(db_engine)
    dashboard.sign_in(people.alice)
    page = client.get("/dashboard/reports?month=2026-11")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Reports: November 2026" in html
    assert 'href="/dashboard/reports?month=2026-10"' in html
    assert 'href="/dashboard/reports?month=2026-12"' in html
    assert "<svg" in html and "<script" not in html
    table = _table(html)
    assert table["Figure"] == ["Cardiff", "Vale of Glamorgan"]
    assert table["Requests"] == ["4", "1"]
    assert table["Median hours to claim"] == ["4.0", "1.0"]
    assert table["Share contacted within the target"] == ["50%", "100%"]

    export = client.get("/dashboard/reports.csv?month=2026-11")
    assert export.headers["Content-Disposition"] == 'attachment; filename="adref-2026-11.csv"'
    assert export.mimetype == "text/csv"
    header, *rows = _csv(export)
    assert header[:3] == ["Month", "Area", "Requests"]
    for n, row in enumerate(rows):
        assert row[0] == "2026-11" and row[1] == table["Figure"][n]
        for name, value in zip(header[2:], row[2:], strict=True):
            assert (value or "—") == table[name][n]
    with Session(db_engine) as session:
        actions = session.exec(select(AuditEvent.action, AuditEvent.detail)).all()
    assert ("report.viewed", json.dumps({"month": "2026-11"})) in actions
    assert ("report.exported", json.dumps({"month": "2026-11"})) in actions


def test_charlie_never_sees_cardiffs_figures(
    client: FlaskClient, dashboard: Dashboard, people: People, db_engine: Engine
) -> None:
    seed_november(db_engine)
    dashboard.sign_in(people.charlie)
    html = client.get("/dashboard/reports?month=2026-11").get_data(as_text=True)
    assert "Adroddiadau: Tachwedd 2026" in html and "Caerdydd" not in html
    assert _table(html)["Ffigur"] == ["Ynys Môn", "Gwynedd"]
    header, *rows = _csv(client.get("/dashboard/reports.csv?month=2026-11"))
    assert header[:3] == ["Mis", "Ardal", "Ceisiadau"]
    assert [row[1] for row in rows] == ["Ynys Môn", "Gwynedd"]
    assert "Caerdydd" not in "".join(",".join(row) for row in rows)


def test_a_malformed_month_is_not_found(
    client: FlaskClient, dashboard: Dashboard, people: People
) -> None:
    dashboard.sign_in(people.bob)
    assert client.get("/dashboard/reports?month=2026-13").status_code == 404
    assert client.get("/dashboard/reports.csv?month=nope").status_code == 404
    this_month = client.get("/dashboard/reports").get_data(as_text=True)
    assert "Reports: November 2026" in this_month and "Area not given" in this_month
