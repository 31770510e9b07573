"""The audit trail page: admins read it, nobody else finds it, nobody can change it."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.inbox import Inbox
from bot.models import AuditEvent
from tests.factories import Dashboard, People, ask_for_interview, csrf_token
from tests.test_dashboard import text_of


def test_dee_the_admin_reads_who_saw_a_request_and_when(
    dashboard: Dashboard, client: FlaskClient, people: People, inbox: Inbox
) -> None:
    reference = ask_for_interview(inbox)
    dashboard.sign_in(people.alice)
    assert client.get(f"/dashboard/requests/{reference}").status_code == 200
    dashboard.sign_out()
    dashboard.sign_in(people.dee)
    response = client.get("/dashboard/audit")
    assert response.status_code == 200
    words = text_of(response)
    assert "Llwybr archwilio" in words and "request.viewed" in words  # Dee works in Welsh
    assert "Alice" in words and reference in words


def test_the_audit_trail_follows_the_dashboard_language(
    dashboard: Dashboard, client: FlaskClient, people: People
) -> None:
    dashboard.sign_in(people.dee)
    client.post("/dashboard/language", data={
        "lang": "en", "csrf_token": csrf_token(client, "/dashboard"), "next": "/dashboard"})
    words = text_of(client.get("/dashboard/audit"))
    assert "Audit trail" in words and "Nobody can change it" in words


def test_everyone_but_an_admin_gets_404_and_reading_it_is_audited(
    dashboard: Dashboard, client: FlaskClient, people: People, db_engine: Engine
) -> None:
    for persona in (people.alice, people.bob, people.charlie):
        dashboard.sign_in(persona)
        assert client.get("/dashboard/audit").status_code == 404
        dashboard.sign_out()
    dashboard.sign_in(people.dee)
    client.get("/dashboard/audit?page=2")
    with Session(db_engine) as session:
        last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert last is not None and last.action == "audit.viewed"
    assert last.practitioner_id == people.dee.id and json.loads(last.detail) == {"page": 2}
