"""The web chat at /chat, driven through its own forms, in Welsh and in English."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.channels import Received
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import Contact, Conversation, InboundEvent, RhiRequest
from tests.browser import Browser, Page, verify_web_dialog
from tests.dialog import Dialog
from webhooks import MAX_BODY_BYTES

WELSH_REQUEST: Dialog = [
    ("Cymraeg", "Pwy sy'n ysgrifennu?"),
    ("Person ifanc ydw i", "Beth hoffet ti ei wneud?"),
    ("Gofyn am gyfweliad dychwelyd adref", ("un eithriad", "Dy ddewis di yw e")),
    ("Ie", "Pryd daethost ti'n ôl?"),
    ("Ddoe", "Ym mha ardal wyt ti'n byw?"),
    ("Caerffili", "Wyt ti'n byw gartref neu mewn gofal?"),
    ("Mewn gofal", "Sut hoffet ti i'r gweithiwr gysylltu?"),
    ("Neges destun", "Pa rif ddylen nhw ei ddefnyddio?"),
    ("07911 123456", "Pryd mae'n amser da?"),
    ("Gyda'r nos", "Hoffet ti gael gweithiwr sy'n siarad Cymraeg?"),
    ("Ie", "Oes unrhyw beth hoffet ti i'r gweithiwr ei wybod?"),
    ("Dwi eisiau siarad am yr ysgol", ("Ardal: Caerffili", "Byw: Mewn gofal")),
    ("Anfon", ("Wedi anfon. Dy gyfeirnod yw", "erbyn diwedd dydd Sul 22 Tachwedd")),
]

ENGLISH_REQUEST: Dialog = [
    ("English", "Who is writing?"),
    ("I'm a young person", "What would you like to do?"),
    ("Ask for a return home interview", ("one limit", "It's your choice")),
    ("Yes", "When did you get back?"),
    ("Today", "Which area"),
    ("Barry", "home or in care"),
    ("At home", "How would you like the worker to get in touch?"),
    ("Phone call", "What number should they use?"),
    ("+44 29 2087 2087", "When is a good time?"),
    ("Any time", "speaks Welsh"),
    ("No", "anything you'd like the worker to know"),
    ("Skip", ("Area: Vale of Glamorgan", "Living: At home", "Note: (nothing)")),
    ("Send", ("Sent. Your reference is", "by the end of Monday 23 November")),
]


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    """A person at the chat."""
    return Browser(client)


def counts(engine: Engine) -> tuple[int, int, int, int]:
    """Contacts, inbound events, the sum of conversation versions, and requests."""
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(Contact)).one(),
            session.exec(select(func.count()).select_from(InboundEvent)).one(),
            session.exec(select(func.coalesce(func.sum(Conversation.version), 0))).one(),
            session.exec(select(func.count()).select_from(RhiRequest)).one(),
        )


def reference_in(page: Page) -> str:
    match = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", page.text)
    assert match, f"no reference code on the page:\n{page.text}"
    return match.group(0)


def stored(engine: Engine, reference: str) -> RhiRequest:
    with Session(engine) as session:
        request = session.exec(select(RhiRequest).where(RhiRequest.reference == reference)).first()
    assert request is not None, f"{reference} is not in the database"
    return request


def test_the_first_screen_greets_in_welsh_before_english(browser: Browser) -> None:
    page = browser.open()
    assert page.status == 200
    assert page.text.index("Shwmae") < page.text.index("Hi!")
    assert '<html lang="cy">' in page.html
    assert {"cy", "en"} <= set(page.langs)
    assert page.buttons()[:2] == ["Cymraeg", "English"]


def test_the_first_screen_has_a_labelled_message_box(browser: Browser) -> None:
    page = browser.open()
    [box_id] = [i for i, name in page.input_ids.items() if name == "text"]
    label = page.labels[box_id]
    assert "Dy neges" in label and "Your message" in label
    assert label.index("Dy neges") < label.index("Your message")


def test_the_first_screen_says_it_is_not_an_emergency_service_in_both_languages(
    browser: Browser,
) -> None:
    page = browser.open()
    assert "Nid gwasanaeth brys" in page.text and "Not an emergency service" in page.text
    assert "Ffonia 999" in page.text and "Call 999" in page.text


@pytest.mark.parametrize(("button", "next_question"), [
    ("Cymraeg", ("Pwy sy'n ysgrifennu?", "Person ifanc ydw i")),
    ("English", ("Who is writing?", "I'm a young person")),
])
def test_pressing_a_button_carries_on_the_conversation(
    browser: Browser, button: str, next_question: tuple[str, ...]
) -> None:
    verify_web_dialog(browser, [(button, next_question)])


def test_a_whole_request_can_be_made_in_welsh_through_the_page(
    browser: Browser, db_engine: Engine, vault: Vault
) -> None:
    page = verify_web_dialog(browser, WELSH_REQUEST)
    request = stored(db_engine, reference_in(page))
    assert (request.language, request.channel, request.area) == ("cy", "web", "caerphilly")
    assert (request.in_care, request.contact_method, request.contact_time) == (
        "care", "text", "evening")
    assert request.welsh_worker and request.status == "queued"
    assert request.note_enc and vault.open(request.note_enc) == "Dwi eisiau siarad am yr ysgol"


def test_a_whole_request_can_be_made_in_english_through_the_page(
    browser: Browser, db_engine: Engine, vault: Vault
) -> None:
    page = verify_web_dialog(browser, ENGLISH_REQUEST)
    request = stored(db_engine, reference_in(page))
    assert (request.language, request.area, request.in_care) == (
        "en", "vale_of_glamorgan", "home")
    assert request.contact_method == "phone" and not request.welsh_worker
    assert request.contact_phone_enc and vault.open(request.contact_phone_enc) == "+442920872087"


@pytest.mark.parametrize(("dialog", "question"), [
    (WELSH_REQUEST[:5], "Ym mha ardal wyt ti'n byw?"),
    (ENGLISH_REQUEST[:5], "Which area"),
])
def test_a_reload_shows_the_current_question_again_and_changes_nothing(
    browser: Browser, db_engine: Engine, dialog: Dialog, question: str
) -> None:
    verify_web_dialog(browser, dialog)
    before = counts(db_engine)
    for _ in range(2):
        page = browser.open()
        assert page.status == 200 and question in page.text
    assert counts(db_engine) == before


@pytest.mark.parametrize(("dialog", "answer", "question"), [
    (WELSH_REQUEST[:4], "Ddoe", "Ym mha ardal wyt ti'n byw?"),
    (ENGLISH_REQUEST[:4], "Today", "Which area"),
])
def test_a_form_sent_twice_has_no_second_effect(
    browser: Browser, db_engine: Engine, dialog: Dialog, answer: str, question: str
) -> None:
    page = verify_web_dialog(browser, dialog)
    found = page.form_with_button(answer)
    assert found
    form, name, value = found
    first = browser.submit(form, {name: value})
    after_first = counts(db_engine)
    # The same form again, as a double click or a refresh of the POST sends it.
    second = browser.submit(form, {name: value})
    assert counts(db_engine) == after_first
    assert second.status == 200 and question in first.text and question in second.text
    # Nothing was read as an answer to the area question: it is still the one being asked.
    assert "Sori" not in second.text and "Sorry" not in second.text


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, client: FlaskClient, db_engine: Engine
) -> None:
    page = browser.open()
    form = page.form_with_button("Cymraeg")
    assert form
    before = counts(db_engine)
    fields = {k: v for k, v in form[0].hidden.items() if k != "csrf_token"}
    response = client.post("/chat", data={**fields, "option": form[2]})
    assert response.status_code == 400
    assert counts(db_engine) == before
    refused = Page.of(response)
    # Said kindly and in both languages, since the chat's language may not be known yet.
    assert "Roedd y dudalen hon wedi dod i ben" in refused.text
    assert "This page had expired" in refused.text
    assert "Nid gwasanaeth brys" in refused.text and "Not an emergency service" in refused.text
    # The way back is the chat itself, which still asks the same question.
    assert 'href="/chat"' in refused.html
    assert "Shwmae" in browser.open().text


def test_a_forged_post_from_another_site_does_not_replace_the_persons_session(
    app: Flask, browser: Browser, db_engine: Engine
) -> None:
    verify_web_dialog(browser, WELSH_REQUEST[:2])
    # Another site's form arrives with no cookie (SameSite=Lax) and no token.
    response = app.test_client().post("/chat", data={"text": "STOP", "message_id": "forged"})
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers
    assert "Beth hoffet ti ei wneud?" in browser.open().text


@pytest.mark.parametrize("typed", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_anything_a_person_types_is_shown_escaped(
    browser: Browser, db_engine: Engine, typed: str
) -> None:
    browser.open()
    for page in (browser.type(typed), browser.press("Cymraeg"), browser.type(typed)):
        assert page.status == 200
        assert typed not in page.html
        assert "<script>" not in page.html and "<img" not in page.html
    assert typed in browser.type(typed).text  # shown back to them, as text


def test_a_forged_button_label_is_shown_escaped(browser: Browser) -> None:
    page = browser.open()
    form = page.form_with_button("Cymraeg")
    assert form
    shown = browser.submit(form[0], {"option": "lang_cy|<script>alert(1)</script>"})
    assert shown.status == 200
    assert "<script>alert(1)</script>" not in shown.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.html


def test_a_body_over_the_limit_is_refused_with_413_and_changes_nothing(
    browser: Browser, db_engine: Engine
) -> None:
    browser.open()
    browser.press("English")
    before = counts(db_engine)
    page = browser.type("x" * (MAX_BODY_BYTES + 1))
    assert page.status == 413
    assert counts(db_engine) == before
    assert "That was too long to send" in page.text
    assert "Roedd hynny'n rhy hir" not in page.text  # the chat is in English by now


def test_every_page_carries_the_security_headers(browser: Browser, client: FlaskClient) -> None:
    responses = [
        client.get("/chat"),
        client.post("/chat", data={"text": "hi"}),  # no token: the refusal page
    ]
    page = browser.open()
    form = page.form_posting_to("/chat", with_text=True)
    responses.append(client.post("/chat", data={**form.hidden, "text": "Cymraeg"}))
    for response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_http_only_and_ends_with_the_browser(client: FlaskClient) -> None:
    cookie = client.get("/chat").headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith("session=")
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert not any(a.startswith(("expires", "max-age")) for a in attributes)


@pytest.mark.parametrize("dialog", [WELSH_REQUEST[:3], ENGLISH_REQUEST[:3]])
def test_leaving_starts_a_new_chat_with_the_greeting(
    browser: Browser, db_engine: Engine, dialog: Dialog
) -> None:
    verify_web_dialog(browser, dialog)
    page = browser.leave()
    assert page.status == 200
    assert "Shwmae" in page.text and "Hi!" in page.text
    assert "Dy neges" in page.text and "Your message" in page.text
    browser.press("Cymraeg")
    # The next message belongs to a new conversation, not the one that was left.
    assert counts(db_engine)[0] == 2


@pytest.mark.parametrize("typed", [
    "😀" * 4000,
    "👩‍👩‍👧‍👦🏴󠁧󠁢󠁷󠁬󠁳󠁿" * 300,
    "a" * 20000,
    "Z̸̢̛̛a̷̢l̶g̵o̶ " * 200,
    "\u202eevil\u202c \u200b\u200d\ufeff",
    "\x00\x01\x1b[31m",
    "ŵŷ âêîôû Ŵŷ",
    "   ",
])
def test_huge_emoji_and_odd_unicode_get_a_normal_page(browser: Browser, typed: str) -> None:
    browser.open()
    for choose in ("", "Cymraeg"):
        if choose:
            browser.press(choose)
        page = browser.type(typed)
        assert page.status == 200 and page.forms
        assert browser.open().status == 200


@pytest.mark.parametrize("raw", [b"%FF%FE", b"%ED%A0%80", b"%C0%AF", b"caf%C3"])
def test_bytes_that_are_not_utf8_get_a_normal_page(browser: Browser, client: FlaskClient,
                                                   raw: bytes) -> None:
    form = browser.open().form_posting_to("/chat", with_text=True)
    body = b"&".join([f"{k}={v}".encode() for k, v in form.hidden.items()] + [b"text=" + raw])
    response = client.post("/chat", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200


def test_the_page_speaks_welsh_only_after_cymraeg_is_chosen(browser: Browser) -> None:
    first = browser.open()
    assert "Anfon" in first.text and "Send" in first.text
    page = browser.press("Cymraeg")
    assert '<html lang="cy">' in page.html and set(page.langs) == {"cy"}
    for welsh in ("Dy neges", "Anfon", "Gadael a chlirio'r sgwrs hon", "Nid gwasanaeth brys"):
        assert welsh in page.text
    for english in ("Your message", "Send", "Leave and clear", "Not an emergency service"):
        assert english not in page.text


def test_the_page_speaks_english_only_after_english_is_chosen(browser: Browser) -> None:
    page = browser.open() and browser.press("English")
    assert '<html lang="en">' in page.html and set(page.langs) == {"en"}
    for english in ("Your message", "Send", "Leave and clear", "Not an emergency service"):
        assert english in page.text
    for welsh in ("Dy neges", "Anfon", "Gadael", "Nid gwasanaeth brys"):
        assert welsh not in page.text


def test_the_front_page_leads_to_the_chat(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["Location"].endswith("/chat")


def test_a_workers_message_waits_for_the_web_chat_and_is_shown_once(
    client: FlaskClient, inbox: Inbox, db_engine: Engine
) -> None:
    from bot.db import session_scope
    from bot.engine import Reply
    from bot.outbox import enqueue

    client.get("/chat")
    chat_id = _session_chat_id(client)
    inbox.receive(Received(channel="web", address=chat_id, provider_id="w-1", text="Cymraeg"))
    with Session(db_engine) as session:
        contact = session.exec(select(Contact)).one()
    with session_scope(db_engine) as session:
        enqueue(session, inbox.vault, key="worker:1:form", contact_id=contact.id, channel="web",
                recipient=chat_id, language="cy", now=inbox.clock(),
                replies=[Reply("Neges gan dy weithiwr: Helo, Alice sydd yma.")])
    first = client.get("/chat").get_data(as_text=True)
    assert "Neges gan dy weithiwr: Helo, Alice sydd yma." in first
    assert "ysgrifennu?" in first  # and then the question, as before
    assert "Alice sydd yma" not in client.get("/chat").get_data(as_text=True)  # only once


def _session_chat_id(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        chat_id: str = session["chat_id"]
    return chat_id
