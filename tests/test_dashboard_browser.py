"""The dashboard in a real Chromium (tests/browser_chromium.py): sign in, switch, sign out.

Few and quick on purpose; tests/test_dashboard.py covers the rest through the Flask client.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import Engine

from bot.content import Content
from bot.crypto import Vault
from tests import browser_chromium
from tests.conftest import FrozenClock
from tests.factories import People, make_people


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
