"""The dashboard's sign-in, second factor, enrolment and front page, through the Flask client.

Alice reads the dashboard in English and Charlie in Welsh (tests/factories.py).
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import Practitioner, SignInAttempt
from bot.runtime import Runtime
from tests.conftest import FrozenClock
from tests.factories import Dashboard, People, csrf_token, make_people
from webhooks import create_app
from webhooks.dashboard.auth import COOKIE, current_practitioner, login_required, require_area


def text_of(response: object) -> str:
    """The words on a page, without its markup."""
    body = response.get_data(as_text=True)  # type: ignore[attr-defined]
    body = re.sub(r"<(script|style|title)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def token_in(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE, path="/dashboard")
    return cookie.value if cookie else None


def test_the_sign_in_page_is_welsh_first_and_bilingual_by_default(client: FlaskClient) -> None:
    response = client.get("/dashboard/sign-in")
    assert response.status_code == 200
    words = text_of(response)
    assert words.index("Mewngofnodi") < words.index("Sign in")
    assert "Cyfeiriad e-bost / Email address" in words
    assert '<html lang="cy">' in response.get_data(as_text=True)
    assert token_in(client) is None


def test_the_sign_in_page_in_one_language_through_the_address(client: FlaskClient) -> None:
    english = text_of(client.get("/dashboard/sign-in?lang=en"))
    assert "Email address" in english and "Cyfeiriad e-bost" not in english
    welsh = text_of(client.get("/dashboard/sign-in?lang=cy"))
    assert "Cyfeiriad e-bost" in welsh and "Email address" not in welsh


def test_every_word_before_sign_in_comes_from_the_catalogs(client: FlaskClient,
                                                           content: Content) -> None:
    known = {text for lang in ("cy", "en") for key, text in content.messages[lang].items()
             if key.startswith("dash.")}
    for path in ("/dashboard/sign-in", "/dashboard/sign-in?lang=en"):
        body = client.get(path).get_data(as_text=True)
        shown = re.findall(r">([^<>]+)<", body)  # every text node, the title's too
        for fragment in (p.strip() for s in shown for p in html.unescape(s).split(" / ")):
            assert fragment in known | {"", "/"}, f"{fragment!r} on {path} is not in a catalog"


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, people: People) -> None:
    response = client.post("/dashboard/sign-in", data={"email": people.alice.email,
                                                       "password": people.alice.password})
    assert response.status_code == 400
    assert "Roedd y dudalen hon wedi dod i ben" in text_of(response)
    assert "This page had expired" in text_of(response)
    assert token_in(client) is None


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    dashboard: Dashboard, people: People
) -> None:
    response = dashboard.password(people.alice.email, "not-alices-password")
    assert response.status_code == 401
    assert "do not match an account" in text_of(response)
    assert token_in(dashboard.client) is None
    unknown = dashboard.password("nobody@council.example", "not-anyones-password")
    assert text_of(unknown) == text_of(response).replace(people.alice.email,
                                                         "nobody@council.example")


def test_alice_signs_in_with_her_code_and_sees_her_team_in_english(
    dashboard: Dashboard, people: People
) -> None:
    first = dashboard.password(people.alice.email, people.alice.password)
    assert first.status_code == 303 and first.headers["Location"] == "/dashboard/code"
    pending = token_in(dashboard.client)
    assert "Enter your code" in text_of(dashboard.client.get("/dashboard/code"))
    done = dashboard.code(people.alice.code(dashboard.now()))
    assert done.status_code == 303 and done.headers["Location"] == "/dashboard"
    # A new token after the second factor: the one from before it opens nothing.
    assert token_in(dashboard.client) not in (None, pending)
    home = dashboard.client.get("/dashboard")
    words = text_of(home)
    assert home.status_code == 200
    assert "Signed in as Alice. Role: practitioner." in words
    assert "Team: Cardiff and the Vale" in words
    assert "Cardiff Vale of Glamorgan" in words


def test_charlie_sees_his_team_and_areas_in_welsh(dashboard: Dashboard, people: People) -> None:
    dashboard.sign_in(people.charlie)
    words = text_of(dashboard.client.get("/dashboard"))
    assert "Wedi mewngofnodi fel Charlie. Rôl: ymarferydd." in words
    assert "Tîm: Gwynedd a Môn" in words and "Gwynedd Ynys Môn" in words
    assert "Sign out" not in words and "Allgofnodi" in words


def test_the_session_cookie_is_httponly_samesite_lax_and_only_for_the_dashboard(
    dashboard: Dashboard, people: People
) -> None:
    dashboard.password(people.bob.email, people.bob.password)
    response = dashboard.code(people.bob.code(dashboard.now()))
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/dashboard" in header
    assert "Secure" not in header  # development over plain http; production sets Secure


def test_the_cookie_is_secure_in_production(app: Flask, people: People,
                                            clock: FrozenClock) -> None:
    runtime = app.extensions["adref"]
    app.extensions["adref"] = type(runtime)(
        runtime.settings.__class__(**{**runtime.settings.__dict__, "production": True}),
        runtime.engine, runtime.vault, runtime.content, runtime.inbox)
    response = Dashboard(app.test_client(), clock).password(people.bob.email,
                                                            people.bob.password)
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_wrong_code_is_refused(dashboard: Dashboard, people: People) -> None:
    dashboard.password(people.alice.email, people.alice.password)
    response = dashboard.code("123456" if people.alice.code(dashboard.now()) != "123456"
                              else "654321")
    assert response.status_code == 401
    assert "That code is not right" in text_of(response)
    assert dashboard.client.get("/dashboard").status_code == 303


def test_the_same_code_cannot_sign_in_twice(dashboard: Dashboard, people: People) -> None:
    code = people.alice.code(dashboard.now())
    dashboard.password(people.alice.email, people.alice.password)
    assert dashboard.code(code).status_code == 303
    dashboard.sign_out()
    dashboard.password(people.alice.email, people.alice.password)
    assert dashboard.code(code).status_code == 401


def test_pages_behind_sign_in_send_others_to_sign_in(client: FlaskClient) -> None:
    for path in ("/dashboard", "/dashboard/code", "/dashboard/enrol"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/dashboard/sign-in")


def test_sign_out_ends_the_session_so_the_old_cookie_no_longer_works(
    dashboard: Dashboard, people: People
) -> None:
    dashboard.sign_in(people.bob)
    old = token_in(dashboard.client)
    assert old
    response = dashboard.sign_out()
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/sign-in?lang=en&signed_out=1"
    assert token_in(dashboard.client) is None
    assert "You have signed out." in text_of(dashboard.client.get(response.headers["Location"]))
    # The same token, sent again as a copied cookie would be, opens nothing.
    dashboard.client.set_cookie(COOKIE, old, path="/dashboard")
    assert dashboard.client.get("/dashboard").status_code == 303


def test_sign_out_without_the_csrf_token_is_refused(dashboard: Dashboard,
                                                    people: People) -> None:
    dashboard.sign_in(people.bob)
    assert dashboard.client.post("/dashboard/sign-out").status_code == 400
    assert dashboard.client.get("/dashboard").status_code == 200


def test_thirty_minutes_idle_and_the_next_page_asks_for_sign_in(
    dashboard: Dashboard, people: People, clock: FrozenClock
) -> None:
    dashboard.sign_in(people.alice)
    clock.now += timedelta(minutes=29)
    assert dashboard.client.get("/dashboard").status_code == 200
    clock.now += timedelta(minutes=31)
    assert dashboard.client.get("/dashboard").status_code == 303


def test_the_language_switch_sets_the_practitioners_language(
    dashboard: Dashboard, people: People, db_engine: Engine
) -> None:
    dashboard.sign_in(people.alice)
    response = dashboard.client.post("/dashboard/language", data={
        "csrf_token": csrf_token(dashboard.client, "/dashboard"), "lang": "cy",
        "next": "/dashboard"})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard"
    page = dashboard.client.get("/dashboard")
    assert '<html lang="cy">' in page.get_data(as_text=True)
    assert "Wedi mewngofnodi fel Alice" in text_of(page)
    with Session(db_engine) as session:
        assert session.get_one(Practitioner, people.alice.id).language == "cy"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/dashboard",
                                    "/chat", "/dashboard\\..\\x"])
def test_the_language_switch_only_goes_back_inside_the_dashboard(
    dashboard: Dashboard, people: People, target: str
) -> None:
    dashboard.sign_in(people.bob)
    response = dashboard.client.post("/dashboard/language", data={
        "csrf_token": csrf_token(dashboard.client, "/dashboard"), "lang": "en",
        "next": target})
    assert response.headers["Location"] == "/dashboard"


def test_the_first_sign_in_enrols_an_authenticator_app(
    client: FlaskClient, db_engine: Engine, content: Content, vault: Vault,
    clock: FrozenClock
) -> None:
    newcomers = make_people(db_engine, content, vault, enrolled=False)
    dashboard = Dashboard(client, clock)
    response = dashboard.password(newcomers.charlie.email, newcomers.charlie.password)
    assert response.headers["Location"] == "/dashboard/code"
    assert client.get("/dashboard/code").headers["Location"] == "/dashboard/enrol"
    page = client.get("/dashboard/enrol")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Gosod eich cod mewngofnodi" in text_of(page)
    assert '<svg width="' in body and "<title>Cod QR" in body
    # The CSP allows no inline script or style and no data: URIs.
    assert "<script" not in body and " style=" not in body and "data:" not in body
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    found = re.search(r'<code id="secret" class="secret">([A-Z2-7 ]+)</code>', body)
    assert found
    secret = found.group(1).replace(" ", "")
    # Reloading shows the same key, so an app that scanned the first one still works.
    assert secret in client.get("/dashboard/enrol").get_data(as_text=True).replace(" ", "")
    wrong = dashboard.code("000000", "/dashboard/enrol")
    assert wrong.status_code == 401 and "<svg" in wrong.get_data(as_text=True)
    done = dashboard.code(pyotp.TOTP(secret).at(clock.now), "/dashboard/enrol")
    assert done.status_code == 303 and done.headers["Location"] == "/dashboard"
    with Session(db_engine) as session:
        assert session.get_one(Practitioner, newcomers.charlie.id).totp_enrolled_at == clock.now


def test_nothing_personal_is_logged_while_signing_in(
    dashboard: Dashboard, people: People, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        dashboard.password(people.alice.email, "not-alices-password")
        dashboard.sign_in(people.alice)
        dashboard.sign_out()
    assert caplog.records
    assert "alice@" not in caplog.text and people.alice.password not in caplog.text
    assert f"practitioner {people.alice.id} signed in" in caplog.text


def test_outside_the_teams_areas_a_page_is_not_found(
    app: Flask, people: People, clock: FrozenClock
) -> None:
    @login_required
    def area_page(area: str) -> str:
        require_area(area)
        return f"request in {area} for practitioner {current_practitioner().id}"

    app.add_url_rule("/dashboard/test-area/<area>", view_func=area_page)
    for who, area, status in [(people.alice, "cardiff", 200), (people.bob, "vale_of_glamorgan",
                              200), (people.charlie, "cardiff", 404), (people.alice, "gwynedd",
                              404), (people.dee, "cardiff", 404)]:
        dashboard = Dashboard(app.test_client(), clock)
        dashboard.sign_in(who)
        clock.now += timedelta(seconds=30)  # each persona's code in a step of its own
        assert dashboard.client.get(f"/dashboard/test-area/{area}").status_code == status


@pytest.mark.parametrize(("hops", "counted_as"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_sign_in_throttle_trusts_forwarded_addresses_only_behind_configured_proxies(
    settings: Settings, db_engine: Engine, vault: Vault, inbox: Inbox, people: People,
    hops: int, counted_as: str,
) -> None:
    # Behind a load balancer every request comes from its address: without PROXY_HOPS one
    # person's wrong passwords would lock everyone out; with it unset, a client could
    # forge X-Forwarded-For to dodge the limit, so the header is ignored.
    app = create_app(Runtime(replace(settings, proxy_hops=hops), db_engine, vault,
                             inbox.content, inbox))
    client = app.test_client()
    # Over https Flask-WTF also wants the form's own page as the referrer.
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
                 "Referer": "https://localhost/dashboard/sign-in"}
    client.post("/dashboard/sign-in", headers=forwarded, data={
        "csrf_token": csrf_token(client, "/dashboard/sign-in"),
        "email": people.alice.email, "password": "wrong-password-x"})
    with Session(db_engine) as session:
        keys = session.exec(select(SignInAttempt.key_hash)).all()
    assert vault.lookup_hash("signin.address", counted_as) in keys


def test_production_tells_browsers_to_use_https_only(
    settings: Settings, db_engine: Engine, vault: Vault, inbox: Inbox, client: FlaskClient,
) -> None:
    production = create_app(Runtime(replace(settings, production=True), db_engine, vault,
                                    inbox.content, inbox)).test_client()
    hsts = production.get("/dashboard/sign-in").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")
    # In development over plain http the header would only be ignored, or pin localhost.
    assert "Strict-Transport-Security" not in client.get("/dashboard/sign-in").headers
