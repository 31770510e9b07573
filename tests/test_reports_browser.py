"""Reports and the carer sheet in a real Chromium (tests/browser_chromium.py).

Few and quick on purpose: tests/test_reports.py and tests/test_carers.py cover the rest.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import OutboxMessage
from bot.outbox import Dispatcher
from bot.runtime import Runtime
from bot.worker import senders
from tests.conftest import FrozenClock
from tests.factories import BASE, TW_SID, TW_TOKEN, People, Persona, seed_november
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.test_dashboard_browser import watch_console
from webhooks import create_app


@pytest.fixture
def twilio() -> Iterator[FakeTwilioAPI]:
    """Twilio's REST API, faked on loopback."""
    with FakeTwilioAPI(TW_SID, TW_TOKEN) as fake:
        yield fake


@pytest.fixture
def configured(settings: Settings, twilio: FakeTwilioAPI) -> Settings:
    """Settings with the SMS channel pointed at the fake."""
    return replace(settings, public_base_url=BASE, twilio_account_sid=TW_SID,
                   twilio_auth_token=TW_TOKEN, twilio_from="+447700900000",
                   twilio_api_base_url=twilio.base_url)


@pytest.fixture
def app(configured: Settings, db_engine: Engine, vault: Vault, content: Content,
        inbox: Inbox) -> Flask:
    """The live server's app, with Twilio configured."""
    return create_app(Runtime(configured, db_engine, vault, content, inbox))


def sign_in(tab: Page, persona: Persona, clock: FrozenClock) -> None:
    tab.goto("/dashboard/sign-in?lang=en")
    tab.get_by_label("Email address").fill(persona.email)
    tab.get_by_label("Password").fill(persona.password)
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("6-digit code").fill(pyotp.TOTP(persona.totp_secret).at(clock.now))
    tab.get_by_role("button", name="Sign in").click()
    expect(tab).to_have_url(re.compile(r"/dashboard$"))


def dispatch(dispatcher: Dispatcher) -> None:
    """Send everything due, in a thread: Playwright's sync API holds this thread's loop."""
    async def drain() -> None:
        for sender in dispatcher.senders.values():
            await sender.start()
        try:
            while await dispatcher.run_once():
                pass
        finally:
            for sender in dispatcher.senders.values():
                await sender.stop()

    thread = threading.Thread(target=asyncio.run, args=(drain(),))
    thread.start()
    thread.join(timeout=30)


def test_alice_reads_a_report_and_downloads_its_csv(
    tab: Page, people: People, clock: FrozenClock, db_engine: Engine
) -> None:
    seed_november(db_engine)
    complaints = watch_console(tab)
    sign_in(tab, people.alice, clock)
    tab.goto("/dashboard/reports?month=2026-10")
    tab.get_by_role("link", name="Next month").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Reports: November 2026")
    expect(tab.locator("table.report")).to_contain_text("Cardiff")
    expect(tab.get_by_role("img")).to_be_visible()
    with tab.expect_download() as downloading:
        tab.get_by_role("link", name="Download these figures as a CSV file").click()
    download = downloading.value
    assert download.suggested_filename == "adref-2026-11.csv"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfMonth,Area,Requests,")
    assert b"2026-11,Cardiff,4,4,0,4.0,24.0,2,50%" in data
    assert complaints == []


def test_alice_sends_a_carer_sheet_sees_it_delivered_and_reads_it_in_welsh(
    tab: Page, app: Flask, people: People, clock: FrozenClock, db_engine: Engine,
    vault: Vault, configured: Settings, twilio: FakeTwilioAPI
) -> None:
    complaints = watch_console(tab)
    sign_in(tab, people.alice, clock)
    tab.goto("/dashboard/carers")
    tab.get_by_label("Their UK mobile number").fill("07911 123456")
    tab.get_by_label("Cymraeg").check()
    tab.get_by_label("For parents and carers").check()
    tab.get_by_role("button", name="Send the text message").click()
    expect(tab.get_by_role("status")).to_contain_text("on its way")
    row = tab.locator("table.sends tbody tr").first
    expect(row).to_contain_text("+44 7••• ••• 456")
    expect(row).to_contain_text("waiting to send")

    dispatch(Dispatcher(db_engine, vault, senders(configured), clock=clock))
    calls = twilio.calls_to("Messages.create")
    assert calls and all(c.params["To"] == "+447911123456" for c in calls)
    assert f"{BASE}/cy/parents-carers" in "".join(c.params["Body"] for c in calls)
    tab.reload()
    expect(row).to_contain_text("sent")

    with Session(db_engine) as session:
        sids = session.exec(select(OutboxMessage.provider_message_id)).all()
    callbacks = app.test_client()
    for sid in sids:
        form = {"MessageSid": str(sid), "MessageStatus": "delivered"}
        path = "/webhooks/twilio/status"
        signature = RequestValidator(TW_TOKEN).compute_signature(BASE + path, form)
        assert callbacks.post(path, data=form, headers={"X-Twilio-Signature": signature}
                              ).status_code == 200
    tab.reload()
    expect(row).to_contain_text("delivered")

    tab.get_by_role("button", name="Cymraeg").click()
    expect(tab.locator("html")).to_have_attribute("lang", "cy")
    expect(tab.get_by_role("heading", level=1)).to_have_text(
        "Anfon y daflen wybodaeth i ofalwyr")
    expect(tab.locator("table.sends tbody tr").first).to_contain_text("wedi'i danfon")
    assert complaints == []
