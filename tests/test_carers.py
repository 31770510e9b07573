"""Sending the carer information sheet by SMS from the dashboard (webhooks/dashboard/carers.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import AuditEvent, OutboxMessage
from bot.runtime import Runtime
from tests.factories import BASE, TW_SID, TW_TOKEN, Dashboard, People, csrf_token
from webhooks import create_app
from webhooks.dashboard.carers import NotAMobile, masked, uk_mobile

NUMBER = "07911 123456"


@pytest.fixture
def app(settings: Settings, db_engine: Engine, vault: Vault, content: Content,
        inbox: Inbox) -> Flask:
    """The app with Twilio configured, so a status callback can be signed."""
    configured = replace(settings, public_base_url=BASE, twilio_account_sid=TW_SID,
                         twilio_auth_token=TW_TOKEN, twilio_from="+447700900000")
    app = create_app(Runtime(configured, db_engine, vault, content, inbox))
    app.config["TESTING"] = True
    return app


def send(client: FlaskClient, number: str = NUMBER, lang: str | None = "cy",
         sheet: str | None = "parents-carers") -> object:
    form = {"csrf_token": csrf_token(client, "/dashboard/carers"), "number": number}
    form |= {"lang": lang} if lang else {}
    form |= {"sheet": sheet} if sheet else {}
    return client.post("/dashboard/carers", data=form)


def outbox_rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


@pytest.mark.parametrize(("number", "expected"), [
    ("07911 123456", "+447911123456"), ("+44 7911 123456", "+447911123456"),
    ("00447911123456", "+447911123456")])
def test_it_normalises_a_uk_mobile_to_e164(number: str, expected: str) -> None:
    assert uk_mobile(number) == expected
    assert masked(expected) == "+44 7••• ••• 456"


@pytest.mark.parametrize(("number", "key"), [
    ("029 2087 2087", "dash.carers.landline"), ("01248 123456", "dash.carers.landline"),
    ("07911", "dash.carers.invalid"), ("hello", "dash.carers.invalid"),
    ("+33 6 12 34 56 78", "dash.carers.invalid")])
def test_it_refuses_landlines_and_numbers_that_are_not_uk_mobiles(number: str, key: str
                                                                   ) -> None:
    with pytest.raises(NotAMobile) as refused:
        uk_mobile(number)
    assert refused.value.key == key


def test_a_landline_is_refused_with_a_clear_message_and_nothing_is_queued(
    client: FlaskClient, dashboard: Dashboard, people: People, db_engine: Engine
) -> None:
    dashboard.sign_in(people.alice)
    response = send(client, "029 2087 2087")
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "That looks like a landline number." in html and 'value="029 2087 2087"' in html
    assert send(client, lang=None).status_code == 400  # type: ignore[attr-defined]
    assert outbox_rows(db_engine) == []


def test_alice_sends_the_welsh_parents_sheet_and_sees_it_delivered(
    client: FlaskClient, dashboard: Dashboard, people: People, db_engine: Engine,
    vault: Vault
) -> None:
    dashboard.sign_in(people.alice)
    response = send(client)
    assert response.status_code == 303  # type: ignore[attr-defined]
    rows = outbox_rows(db_engine)
    assert rows and all(r.channel == "sms" and r.contact_id is None for r in rows)
    assert all(r.language == "cy" and r.idempotency_key.startswith("carer:") for r in rows)
    assert vault.open(rows[0].recipient_enc) == "+447911123456"
    text = "\n".join(vault.open(r.body_enc) for r in rows)
    assert "Dyma wybodaeth i chi gan Adref" in text
    assert f"{BASE}/cy/parents-carers" in text

    with Session(db_engine) as session:
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "carer_sheet_sent")).one()
    detail = json.loads(event.detail)
    assert event.practitioner_id == people.alice.id and detail["outbox"] == rows[0].id
    assert (detail["lang"], detail["sheet"]) == ("cy", "parents-carers")
    assert "7911" not in event.detail and "123456" not in event.detail

    page = client.get("/dashboard/carers?sent=1").get_data(as_text=True)
    assert "The text message is on its way." in page
    assert "+44 7••• ••• 456" in page and "7911 123456" not in page
    assert "waiting to send" in page

    for n, row in enumerate(rows):  # the dispatcher sent them
        with Session(db_engine) as session:
            sent = session.get_one(OutboxMessage, row.id)
            sent.status, sent.provider_message_id = "sent", f"SM{n:032d}"
            session.add(sent)
            session.commit()
    assert "<td class=\"status-sent\">" in client.get("/dashboard/carers").get_data(as_text=True)
    for n in range(len(rows)):
        form = {"MessageSid": f"SM{n:032d}", "MessageStatus": "delivered"}
        path = "/webhooks/twilio/status"
        signature = RequestValidator(TW_TOKEN).compute_signature(BASE + path, form)
        assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}
                           ).status_code == 200
    page = client.get("/dashboard/carers").get_data(as_text=True)
    assert '<td class="status-delivered">' in page and ">delivered<" in page


def test_bob_sees_alices_sends_and_charlie_does_not(
    client: FlaskClient, app: Flask, dashboard: Dashboard, people: People
) -> None:
    dashboard.sign_in(people.alice)
    send(client, lang="en", sheet="foster-residential-carers")
    bob = app.test_client()
    Dashboard(bob, dashboard.now).sign_in(people.bob)
    page = bob.get("/dashboard/carers").get_data(as_text=True)
    assert "+44 7••• ••• 456" in page and "For foster carers and residential carers" in page
    charlie = app.test_client()
    Dashboard(charlie, dashboard.now).sign_in(people.charlie)
    page = charlie.get("/dashboard/carers").get_data(as_text=True)
    assert "456" not in page and "Nid yw eich tîm wedi anfon unrhyw daflenni eto." in page
