"""When handling a message fails, the young person still gets the fixed safe reply.

Faults are injected at three depths (the session cannot open, the engine raises, the
transaction fails half way) and the database is really taken away; on every channel the
reply (bot/safety.py `fallback`: 999, Childline and Meic, Welsh then English) reaches the
person in the same response, answered 200 so the provider does not retry.
"""

from __future__ import annotations

import html
import logging
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

import bot.inbox
from bot.channels import console
from bot.cli import main
from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import InboundEvent
from bot.runtime import PUSH_CHANNELS, Runtime
from bot.safety import fallback
from tests.conftest import FrozenClock
from tests.factories import (
    BASE,
    TG_SECRET,
    TG_TOKEN,
    TW_SID,
    TW_TOKEN,
    csrf_token,
    post_update,
    signed_sms,
    telegram_update,
)
from tests.process import ok
from webhooks import create_app

SAM = "+447911123456"
CRY = "dwi'n mynd i ladd fy hun"


def database_error() -> OperationalError:
    """What SQLAlchemy raises when the database goes away, quoting the statement's values."""
    return OperationalError("INSERT INTO inbound_event (text_enc) VALUES (?)",
                            {"text": CRY, "from": SAM}, Exception("disk I/O error"))


class NoSession:
    """In place of bot.db.session_scope: the session cannot open, the database is gone."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Session:
        raise database_error()

    def __exit__(self, *exc: object) -> None:
        return None


def engine_bug(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(f"a bug in the engine, on {CRY!r}")


def fails_half_way(*args: Any, **kwargs: Any) -> None:
    raise database_error()


# Where a fault is injected: the session, the engine, the transaction half done (after
# the event and the effects are written, while saving the conversation's state).
FAULTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "session": lambda mp: mp.setattr(bot.inbox, "session_scope", NoSession),
    "engine": lambda mp: mp.setattr(bot.inbox, "step", engine_bug),
    "half-way": lambda mp: mp.setattr(Inbox, "_save_state", fails_half_way),
}


@pytest.fixture
def app(settings: Settings, db_engine: Engine, vault: Vault, content: Content,
        clock: FrozenClock) -> Flask:
    """The app with Telegram and Twilio configured, replies going through the outbox."""
    configured = replace(settings, public_base_url=BASE, telegram_bot_token=TG_TOKEN,
                         telegram_webhook_secret=TG_SECRET, twilio_account_sid=TW_SID,
                         twilio_auth_token=TW_TOKEN, twilio_from="+447700900000")
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    return create_app(Runtime(configured, db_engine, vault, content, inbox))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


def assert_safe_reply(reply: str, content: Content) -> None:
    """The fixed reply, whole: Welsh first, 999, Childline and Meic from the directory."""
    assert reply == fallback(content)
    assert reply.index("Os wyt ti mewn perygl nawr, ffonia 999") < reply.index(
        "If you are in danger now, call 999")
    for number in (content.contact("childline.phone").value,
                   content.contact("meic.phone").value):
        assert reply.count(number) == 2  # once in each language


def twiml_message(response: Any) -> str:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    [message] = ElementTree.fromstring(response.get_data()).iter("Message")
    return message.text or ""


def chat_page_text(response: Any) -> str:
    """The web chat's reply paragraphs, as the person reads them."""
    page = response.get_data(as_text=True)
    start = page.index('class="messages"')
    section = page[start:page.index("</section>", start)]
    paragraphs = [html.unescape(p.split("</p>")[0]) for p in section.split("<p>")[1:]]
    return "\n".join(paragraphs)


def stored_events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(InboundEvent)).one()


@pytest.mark.parametrize("fault", FAULTS)
def test_an_sms_gets_the_safe_reply_in_the_twiml_when_handling_fails(
    client: FlaskClient, content: Content, db_engine: Engine, monkeypatch: pytest.MonkeyPatch,
    fault: str
) -> None:
    FAULTS[fault](monkeypatch)
    reply = twiml_message(signed_sms(client, CRY, "SM" + "1" * 32, sender=SAM))
    assert_safe_reply(reply, content)
    assert stored_events(db_engine) == 0  # a failure half way leaves nothing half written


@pytest.mark.parametrize("fault", FAULTS)
def test_a_telegram_message_gets_the_safe_reply_as_the_webhooks_method_call(
    client: FlaskClient, content: Content, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    FAULTS[fault](monkeypatch)
    response = post_update(client, telegram_update(7, "I want to end it", chat_id=4242))
    assert response.status_code == 200
    body = response.get_json()
    assert (body["method"], str(body["chat_id"])) == ("sendMessage", "4242")
    assert_safe_reply(body["text"], content)


@pytest.mark.parametrize("fault", FAULTS)
def test_the_web_chat_shows_the_safe_reply_on_the_page(
    client: FlaskClient, content: Content, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    token = csrf_token(client, "/chat")
    FAULTS[fault](monkeypatch)
    response = client.post("/chat", data={"csrf_token": token, "text": CRY})
    assert response.status_code == 200
    assert chat_page_text(response) == f"{CRY}\n" + fallback(content).replace("\n\n", "\n")


def test_opening_the_web_chat_while_the_database_is_down_shows_the_safe_reply(
    client: FlaskClient, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    FAULTS["session"](monkeypatch)
    monkeypatch.setattr(Inbox, "current", fails_half_way)
    shown = client.get("/chat")
    assert shown.status_code == 200
    assert chat_page_text(shown) == fallback(content).replace("\n\n", "\n")


@pytest.mark.parametrize("fault", FAULTS)
def test_adref_chat_prints_the_safe_reply_and_carries_on(
    runner: CliRunner, content: Content, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    FAULTS[fault](monkeypatch)
    output = ok(runner.invoke(main, ["chat"], input=f"{CRY}\nhelo\n"))
    assert output.count(fallback(content)) >= 2  # every line, and the chat went on


def test_the_failure_is_logged_with_where_it_happened_and_nothing_personal(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    FAULTS["half-way"](monkeypatch)
    with caplog.at_level(logging.ERROR, logger="bot.safety"):
        signed_sms(client, CRY, "SM" + "2" * 32, sender=SAM)
    [record] = [r for r in caplog.records if r.name == "bot.safety"]
    assert (record.__dict__["channel"], record.__dict__["error"]) == ("sms", "OperationalError")
    assert "fails_half_way" in record.__dict__["where"] and "inbox.py" in record.__dict__["where"]
    logged = caplog.text + str(record.__dict__)
    assert "ladd" not in logged and "7911" not in logged and "disk I/O" not in logged


def test_the_console_shows_the_safe_reply_when_the_first_lookup_fails(
    inbox: Inbox, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    FAULTS["session"](monkeypatch)
    monkeypatch.setattr(Inbox, "current", fails_half_way)
    written: list[str] = []
    assert console.run(inbox, "console:sam", [CRY], written.append) == 1
    assert [w for w in written if w] == [fallback(content), fallback(content)]


# The database really gone: a SQLite file that can no longer be opened, or a PostgreSQL
# database dropped under the running app.


def take_the_database_away(engine: Engine, url: str, server: Engine | None) -> None:
    engine.dispose()
    if server is None:
        path = Path(make_url(url).database or "")
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        # A folder where the file was: SQLite can neither open nor create it.
        path.mkdir()
        return
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)'))


def test_every_channel_still_answers_when_the_database_is_really_gone(
    client: FlaskClient, content: Content, db_engine: Engine, database_url: str,
    postgres_server: Engine | None, caplog: pytest.LogCaptureFixture
) -> None:
    token = csrf_token(client, "/chat")
    take_the_database_away(db_engine, database_url, postgres_server)
    with caplog.at_level(logging.ERROR, logger="bot.safety"):
        assert_safe_reply(twiml_message(signed_sms(client, CRY, "SM" + "3" * 32)), content)
        telegram = post_update(client, telegram_update(8, "kms"))
        assert telegram.status_code == 200
        assert_safe_reply(telegram.get_json()["text"], content)
        web = client.post("/chat", data={"csrf_token": token, "text": "help"})
        assert web.status_code == 200 and "ffonia 999" in chat_page_text(web)
    failures = [(r.__dict__["channel"], r.__dict__["error"])
                for r in caplog.records if r.name == "bot.safety"]
    assert failures == [("sms", "OperationalError"), ("telegram", "OperationalError"),
                        ("web", "OperationalError")]
