"""The dashboard in a real Chromium (tests/browser_chromium.py): sign in, switch, sign out;
take a request from the queue to its outcome.

Few and quick on purpose; tests/test_dashboard.py covers the rest through the Flask client.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels.twilio import TwilioSender
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import OutboxMessage
from bot.outbox import Dispatcher
from tests import browser_chromium
from tests.conftest import FrozenClock
from tests.factories import TW_SID, TW_TOKEN, People, ask_for_interview, make_people
from tests.fakes.twilio_api import FakeTwilioAPI

NOTE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def watch_console(tab: Page) -> list[str]:
    """Collect what the browser complains about (a CSP violation shows up here)."""
    complaints: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            complaints.append(f"{message.text} ({message.location.get('url')})")

    tab.on("console", heard)
    return complaints


def test_alice_signs_in_with_her_code_switches_to_welsh_and_signs_out(
    tab: Page, people: People, clock: FrozenClock
) -> None:
    complaints = watch_console(tab)
    tab.goto("/dashboard/sign-in")
    expect(tab.locator("html")).to_have_attribute("lang", "cy")
    tab.get_by_label("Email address").fill(people.alice.email)
    tab.get_by_label("Password").fill(people.alice.password)
    tab.get_by_role("button", name="Continue").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text("Enter your code")
    tab.get_by_label("6-digit code").fill(pyotp.TOTP(people.alice.totp_secret).at(clock.now))
    tab.get_by_role("button", name="Sign in").click()

    expect(tab).to_have_url(re.compile(r"/dashboard$"))
    expect(tab.locator("main")).to_contain_text("Signed in as Alice.")
    expect(tab.locator("main")).to_contain_text("Cardiff")
    # The stylesheet loaded under the CSP: the header has the accent colour.
    background = tab.locator("header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(0, 95, 115)"

    tab.get_by_role("button", name="Cymraeg").click()
    expect(tab.locator("html")).to_have_attribute("lang", "cy")
    expect(tab.locator("main")).to_contain_text("Wedi mewngofnodi fel Alice.")
    expect(tab.locator("main")).to_contain_text("Caerdydd")

    tab.get_by_role("button", name="Allgofnodi").click()
    expect(tab).to_have_url(re.compile(r"/dashboard/sign-in\?lang=cy&signed_out=1$"))
    expect(tab.get_by_role("status")).to_have_text("Rydych chi wedi allgofnodi.")
    # Back at the dashboard's address, the browser is asked to sign in again.
    tab.goto("/dashboard")
    expect(tab).to_have_url(re.compile(r"/dashboard/sign-in$"))
    assert complaints == []


def test_the_first_sign_in_shows_a_qr_code_to_enrol_with(
    tab: Page, app: Flask, db_engine: Engine, content: Content, vault: Vault,
    clock: FrozenClock
) -> None:
    newcomers = make_people(db_engine, content, vault, enrolled=False)
    complaints = watch_console(tab)
    tab.goto("/dashboard/sign-in?lang=en")
    tab.get_by_label("Email address").fill(newcomers.bob.email)
    tab.get_by_label("Password").fill(newcomers.bob.password)
    tab.get_by_role("button", name="Continue").click()

    expect(tab.get_by_role("heading", level=1)).to_have_text("Set up your sign-in code")
    qr = tab.locator(".qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] > 100 and box["width"] == box["height"]
    secret = tab.locator("#secret").inner_text().replace(" ", "")
    tab.get_by_label("Enter the 6-digit code").fill(pyotp.TOTP(secret).at(clock.now))
    tab.get_by_role("button", name="Confirm and sign in").click()
    expect(tab.locator("main")).to_contain_text("Signed in as Bob. Role: manager.")
    assert complaints == []


def test_alice_claims_messages_and_closes_a_request_and_a_note_stays_inert(
    tab: Page, people: People, clock: FrozenClock, inbox: Inbox, db_engine: Engine,
    vault: Vault
) -> None:
    reference = ask_for_interview(inbox, note=NOTE)
    complaints = watch_console(tab)
    dialogs: list[str] = []

    def heard(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", heard)
    tab.goto("/dashboard/sign-in?lang=en")
    tab.get_by_label("Email address").fill(people.alice.email)
    tab.get_by_label("Password").fill(people.alice.password)
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("6-digit code").fill(pyotp.TOTP(people.alice.totp_secret).at(clock.now))
    tab.get_by_role("button", name="Sign in").click()

    row = tab.locator("table.queue tbody tr").filter(has_text=reference)
    expect(row).to_contain_text("2 days 9 hours")  # 72 hours from the start of today
    expect(row).to_contain_text("Wants a Welsh-speaking worker")
    row.get_by_role("link", name=reference).click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Request {reference}")
    # The note is on the page as text: the markup in it never ran.
    expect(tab.locator(".facts .written")).to_have_text(NOTE)
    assert tab.locator("main script, main img").count() == 0

    tab.get_by_role("button", name="Claim this request").click()
    expect(tab.get_by_role("status")).to_have_text("You have claimed this request.")
    tab.get_by_label("Message to the young person").fill("Can I ring you at 4pm?")
    tab.get_by_role("button", name="Send message").click()
    expect(tab.get_by_role("status")).to_have_text(
        "Your message is on its way to the young person.")
    expect(tab.locator(".conversation li.worker")).to_contain_text(
        "Neges gan dy weithiwr: Can I ring you at 4pm?")
    with Session(db_engine) as session:
        [sent] = session.exec(select(OutboxMessage)).all()
    assert (sent.channel, vault.open(sent.recipient_enc)) == ("sms", "+447911123456")
    # ...and the young person's channel gets it: the dispatcher sends it to (fake) Twilio.
    # Its own thread, because Playwright keeps an event loop running in this one.
    with FakeTwilioAPI(TW_SID, TW_TOKEN) as twilio:
        sender = TwilioSender(TW_SID, TW_TOKEN, "+447700900000", twilio.base_url)
        dispatcher = Dispatcher(db_engine, vault, {"sms": sender}, clock=clock)

        async def send_once() -> None:
            await dispatcher.run_once()
            await sender.stop()

        thread = threading.Thread(target=asyncio.run, args=(send_once(),))
        thread.start()
        thread.join(30)
        [call] = twilio.calls_to("Messages.create")
    assert call.params["To"] == "+447911123456"
    assert call.params["Body"] == "Neges gan dy weithiwr: Can I ring you at 4pm?"

    tab.get_by_label("Outcome", exact=True).select_option("completed")
    tab.get_by_label("Note (optional, kept encrypted)").fill("<b>Went well</b>")
    tab.get_by_role("button", name="Record the outcome and close").click()
    expect(tab.get_by_role("status")).to_have_text(
        "The outcome is recorded and the request is closed.")
    expect(tab.locator("main")).to_contain_text("Interview completed")
    expect(tab.locator("main")).to_contain_text("<b>Went well</b>")
    tab.get_by_role("link", name="Back to the queue").click()
    expect(tab.locator("main")).to_contain_text("No requests match.")
    assert dialogs == [] and complaints == []


def test_without_chromium_browser_tests_skip_and_say_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_chromium, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser_chromium.need_chromium()


def test_without_chromium_browser_tests_fail_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_chromium, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        browser_chromium.need_chromium()
