"""An urgent request alerts the team (bot/alerts.py): a text to the duty phone of each team
covering its area, once, and a banner on every dashboard page until someone claims it."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot import alerts
from bot.casework import Actor, claim
from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.inbox import Inbox
from bot.models import Contact, OutboxMessage, RhiRequest, Team
from bot.outbox import Dispatcher
from bot.runtime import PUSH_CHANNELS, Runtime
from bot.worker import senders
from tests.conftest import FrozenClock
from tests.dialog import Dialog, send, verify_dialog
from tests.factories import (
    BASE,
    TW_SID,
    TW_TOKEN,
    Dashboard,
    People,
    add_request,
    signed_sms,
)
from tests.fakes.twilio_api import FakeTwilioAPI
from webhooks import create_app

CARDIFF_DUTY, GWYNEDD_DUTY = "+447911000111", "+447911000222"
# The frozen `clock` fixture's time.
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
# A reference as the banner links to it.
LINKED = re.compile(r">([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})</a>")

# A young person asks for an interview in Cardiff, in Welsh, then says they are in danger.
WELSH_IN_CARDIFF: Dialog = [
    ("Cymraeg", "Pwy sy'n ysgrifennu?"),
    ("Person ifanc ydw i", "Beth hoffet ti ei wneud?"),
    ("Gofyn am gyfweliad dychwelyd adref", "Dy ddewis di yw e"),
    ("Ie", "Pryd daethost ti'n ôl?"),
    ("Ddoe", "Ym mha ardal wyt ti'n byw?"),
    ("Caerdydd", "Wyt ti'n byw gartref neu mewn gofal?"),
    ("Gartref", "Sut hoffet ti i'r gweithiwr gysylltu?"),
    ("Yn y sgwrs yma", "Pryd mae'n amser da?"),
    ("Unrhyw bryd", "Hoffet ti gael gweithiwr sy'n siarad Cymraeg?"),
    ("Ie", "Oes unrhyw beth hoffet ti i'r gweithiwr ei wybod?"),
    ("Mae fy rhif i yn y nodyn: 07911 555666", "Ga i anfon hyn?"),
    ("Anfon", "Dy gyfeirnod yw"),
    ("ma fe'n fy mrifo", "Os wyt ti mewn perygl nawr, ffonia 999"),
]
# In English, in Gwynedd: danger first, then the request, which is urgent from the start.
ENGLISH_IN_GWYNEDD: Dialog = [
    ("English", "Who is writing?"),
    ("i dont feel safe here", "If you are in danger now, call 999"),
    ("I'm a young person", "What would you like to do?"),
    ("Ask for a return home interview", "It's your choice"),
    ("Yes", "When did you get back?"),
    ("Today", "Which area"),
    ("Gwynedd", "home or in care"),
    ("In care", "How would you like the worker to get in touch?"),
    ("In this chat", "When is a good time?"),
    ("Evening", "speaks Welsh"),
    ("No", "anything you'd like the worker to know"),
    ("Skip", "Shall I send this?"),
    ("Send", "Your reference is"),
]


def set_duty(engine: Engine, vault: Vault, team_id: int, phone: str | None) -> None:
    with session_scope(engine) as session:
        alerts.set_duty_phone(session, vault, session.get_one(Team, team_id), phone)


@pytest.fixture
def duty(db_engine: Engine, vault: Vault, people: People) -> People:
    """The personas, with a duty phone for each of their two teams."""
    set_duty(db_engine, vault, people.cardiff_team, "07911 000111")
    set_duty(db_engine, vault, people.gwynedd_team, "07911 000222")
    return people


def duty_texts(engine: Engine, vault: Vault) -> list[tuple[str, str, str]]:
    """Every duty text written: (outbox key, recipient, body)."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.idempotency_key).startswith("urgent:"))
            .order_by(col(OutboxMessage.id))).all()
        return [(r.idempotency_key, vault.open(r.recipient_enc), vault.open(r.body_enc))
                for r in rows]


def the_request(engine: Engine) -> RhiRequest:
    with Session(engine) as session:
        return session.exec(select(RhiRequest)).one()


def expected_text(reference: str) -> str:
    return (f"Adref: cais brys {reference} - gweler y dangosfwrdd\n\n"
            f"Adref: urgent request {reference} - see the dashboard")


# The duty text


def test_danger_words_text_the_duty_phone_of_the_team_covering_the_area_once(
    inbox: Inbox, db_engine: Engine, vault: Vault, duty: People
) -> None:
    verify_dialog(inbox, WELSH_IN_CARDIFF, address="cy-1")
    request = the_request(db_engine)
    assert request.urgent and request.area == "cardiff"
    texts = duty_texts(db_engine, vault)
    assert texts == [(f"urgent:{request.id}:{duty.cardiff_team}:0", CARDIFF_DUTY,
                      expected_text(request.reference))]
    # Neutral words: nothing the young person wrote, no number, no area, Welsh first.
    assert "07911" not in texts[0][2] and "Caerdydd" not in texts[0][2]
    # Saying it again, or the same message redelivered, texts nobody a second time.
    verify_dialog(inbox, [("dwi ddim yn saff", "999")], address="cy-1")
    assert len(duty_texts(db_engine, vault)) == 1


def test_a_young_person_in_danger_who_then_asks_for_an_interview_texts_their_team(
    inbox: Inbox, db_engine: Engine, vault: Vault, duty: People
) -> None:
    verify_dialog(inbox, ENGLISH_IN_GWYNEDD, address="en-1")
    request = the_request(db_engine)
    assert request.urgent and request.area == "gwynedd"
    assert duty_texts(db_engine, vault) == [
        (f"urgent:{request.id}:{duty.gwynedd_team}:0", GWYNEDD_DUTY,
         expected_text(request.reference))]


def test_a_request_whose_area_is_not_known_texts_every_team_with_a_duty_phone(
    db_engine: Engine, vault: Vault, content: Content, clock: FrozenClock, duty: People
) -> None:
    with session_scope(db_engine) as session:
        request = add_request(session, None, clock.now, urgent=True)
        assert alerts.urgent(session, vault, content, request, clock.now) == 2
        assert alerts.urgent(session, vault, content, request, clock.now) == 0
    assert [phone for _, phone, _ in duty_texts(db_engine, vault)] == [CARDIFF_DUTY,
                                                                     GWYNEDD_DUTY]


def test_no_text_for_a_team_without_a_duty_phone_or_a_request_no_longer_open(
    db_engine: Engine, vault: Vault, content: Content, clock: FrozenClock, duty: People
) -> None:
    set_duty(db_engine, vault, duty.cardiff_team, None)
    with session_scope(db_engine) as session:
        in_cardiff = add_request(session, "cardiff", clock.now, urgent=True)
        withdrawn = add_request(session, "gwynedd", clock.now, urgent=True, status="withdrawn")
        calm = add_request(session, "gwynedd", clock.now)
        assert [alerts.urgent(session, vault, content, r, clock.now)
                for r in (in_cardiff, withdrawn, calm)] == [0, 0, 0]
    assert duty_texts(db_engine, vault) == []


def test_a_duty_phone_that_texted_stop_is_never_texted(
    inbox: Inbox, db_engine: Engine, vault: Vault, content: Content, clock: FrozenClock,
    duty: People
) -> None:
    # Someone on duty texted STOP to Adref's number from the duty phone.
    send(inbox, "STOP", address=CARDIFF_DUTY, channel="sms")
    with Session(db_engine) as session:
        assert session.exec(select(Contact)).one().opted_out_at is not None
    with session_scope(db_engine) as session:
        request = add_request(session, "cardiff", clock.now, urgent=True)
        assert alerts.urgent(session, vault, content, request, clock.now) == 0
    assert duty_texts(db_engine, vault) == []


def test_a_duty_phone_must_be_a_uk_mobile_and_is_stored_sealed(
    db_engine: Engine, vault: Vault, duty: People
) -> None:
    for typed, key in (("029 2087 2087", "dash.carers.landline"), ("12345", "dash.carers.invalid")):
        with pytest.raises(alerts.NotAMobile) as refused:
            set_duty(db_engine, vault, duty.cardiff_team, typed)
        assert refused.value.key == key
    with Session(db_engine) as session:
        team = session.get_one(Team, duty.cardiff_team)
        assert team.duty_phone_enc is not None and b"7911" not in team.duty_phone_enc
        assert alerts.duty_phone(vault, team) == CARDIFF_DUTY


# End to end: a signed SMS in, the dispatcher, the real twilio Client, a fake Twilio API.


@pytest.fixture
def twilio() -> Iterator[FakeTwilioAPI]:
    with FakeTwilioAPI(TW_SID, TW_TOKEN) as fake:
        yield fake


def test_a_danger_text_reaches_the_duty_phone_through_twilio_once(
    settings: Settings, db_engine: Engine, vault: Vault, content: Content,
    clock: FrozenClock, twilio: FakeTwilioAPI, duty: People
) -> None:
    configured = replace(settings, public_base_url=BASE, twilio_account_sid=TW_SID,
                         twilio_auth_token=TW_TOKEN, twilio_from="+447700900000",
                         twilio_api_base_url=twilio.base_url)
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    client = create_app(Runtime(configured, db_engine, vault, content, inbox)).test_client()
    dispatcher = Dispatcher(db_engine, vault, senders(configured), clock=clock)
    sids = itertools.count(1)

    async def converse(messages: list[str]) -> None:
        for sender in dispatcher.senders.values():
            await sender.start()
        try:
            for text in messages:
                assert signed_sms(client, text, f"SM{next(sids):032d}").status_code == 200
                while await dispatcher.run_once():
                    pass
        finally:
            for sender in dispatcher.senders.values():
                await sender.stop()

    asyncio.run(converse([user for user, _ in WELSH_IN_CARDIFF]))
    asyncio.run(converse(["DWI ISIO MARW 😭"]))  # danger again: no second duty text
    calls = twilio.calls_to("Messages.create")
    to_duty = [c.params["Body"] for c in calls if c.params["To"] == CARDIFF_DUTY]
    reference = the_request(db_engine).reference
    assert to_duty == [expected_text(reference)]
    assert not [c for c in calls if c.params["To"] == GWYNEDD_DUTY]
    # The young person heard 999 first, by text, both times.
    to_them = [c.params["Body"] for c in calls if c.params["To"] == "+447911123456"]
    assert sum("Os wyt ti mewn perygl nawr, ffonia 999" in b for b in to_them) == 2


# The dashboard banner


def urgent_in(engine: Engine, area: str | None, hours_left: int = 72, **fields: object
              ) -> str:
    """An urgent request made before the frozen clock's time, due hours_left after it."""
    with session_scope(engine) as session:
        request = add_request(session, area, NOW - timedelta(hours=72 - hours_left),
                              urgent=True, **fields)
        return request.reference


def banner(html: str) -> str:
    """The banner's HTML, or "" when the page has none."""
    start = html.find('class="error urgent-banner"')
    return "" if start < 0 else html[start:html.index("</section>", start)]


def test_alice_sees_an_unclaimed_urgent_cardiff_request_on_every_page_until_it_is_claimed(
    client: FlaskClient, dashboard: Dashboard, db_engine: Engine, people: People,
    clock: FrozenClock
) -> None:
    reference = urgent_in(db_engine, "cardiff")
    dashboard.sign_in(people.alice)
    for page in ("/dashboard", "/dashboard/carers", "/dashboard/reports",
                 f"/dashboard/requests/{reference}", "/dashboard/requests/NOPE-NOPE"):
        shown = banner(client.get(page).get_data(as_text=True))
        assert "Urgent requests not yet claimed" in shown, page
        assert f'<a href="/dashboard/requests/{reference}">{reference}</a>' in shown, page
        assert "<script" not in shown and "Ceisiadau brys" not in shown  # English only
    with session_scope(db_engine) as session:
        claim(session, Actor(people.bob.id, "manager", frozenset({"cardiff"})), reference,
              clock.now)
    assert banner(client.get("/dashboard").get_data(as_text=True)) == ""


def test_charlie_sees_his_teams_urgent_request_in_welsh_and_not_cardiffs(
    client: FlaskClient, dashboard: Dashboard, db_engine: Engine, people: People
) -> None:
    cardiff = urgent_in(db_engine, "cardiff")
    anglesey = urgent_in(db_engine, "anglesey")
    dashboard.sign_in(people.charlie)
    shown = banner(client.get("/dashboard").get_data(as_text=True))
    assert '<span lang="cy">Ceisiadau brys sydd heb eu hawlio eto</span>' in shown
    assert "Agorwch y cais a&#39;i hawlio" in shown and "Urgent requests" not in shown
    assert anglesey in shown and cardiff not in shown


def test_an_urgent_request_with_no_area_shows_to_managers_who_route_it_not_practitioners(
    client: FlaskClient, dashboard: Dashboard, db_engine: Engine, people: People
) -> None:
    reference = urgent_in(db_engine, None)
    dashboard.sign_in(people.bob)
    assert reference in banner(client.get("/dashboard").get_data(as_text=True))
    dashboard.sign_out()
    dashboard.sign_in(people.alice)
    assert banner(client.get("/dashboard").get_data(as_text=True)) == ""


def test_the_banner_names_the_nearest_deadlines_and_links_to_the_rest(
    client: FlaskClient, dashboard: Dashboard, db_engine: Engine, people: People
) -> None:
    references = [urgent_in(db_engine, "cardiff", hours_left=h) for h in range(12, 0, -1)]
    urgent_in(db_engine, "cardiff", status="closed")
    dashboard.sign_in(people.alice)
    shown = banner(client.get("/dashboard").get_data(as_text=True))
    nearest = references[::-1][:alerts.SHOWN]
    assert LINKED.findall(shown) == nearest
    assert '<a href="/dashboard?status=queued&amp;urgent=1">' in shown
    assert "See every urgent request" in shown


def test_no_banner_before_sign_in_is_complete(client: FlaskClient, dashboard: Dashboard,
                                              db_engine: Engine, people: People) -> None:
    urgent_in(db_engine, "cardiff")
    dashboard.password(people.alice.email, people.alice.password)
    assert banner(client.get("/dashboard/code").get_data(as_text=True)) == ""

