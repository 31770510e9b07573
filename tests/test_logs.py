"""Logs: JSON lines in production, and never a phone number, chat id or message text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from bot import logs
from bot.config import ConfigError, Settings, new_data_key
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.outbox import Dispatcher, Outgoing
from bot.runtime import PUSH_CHANNELS, Runtime
from tests.conftest import FrozenClock
from tests.conversations import ENGLISH_BY_TELEGRAM, WELSH_BY_SMS
from tests.factories import (
    BASE,
    TG_SECRET,
    TG_TOKEN,
    TW_SID,
    TW_TOKEN,
    post_update,
    signed_sms,
    telegram_update,
)
from webhooks import create_app

PHONE = "+447911123456"
CHAT_ID = 987654321
NOTE = "Mae pethau'n anodd gartref gyda llystad"
AREA = "Wrecsam"


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    """Every line written, each parsed as one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def logger_to(stream: io.StringIO, name: str, json: bool = True) -> logging.Logger:
    """A logger of the test's own that writes only through Adref's handler to stream."""
    logger = logging.getLogger(name)
    logger.handlers[:] = [logs.handler(json=json, stream=stream)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything logged at any level while the test runs, through the JSON handler."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logs.handler(json=True, stream=stream)
    logging.getLogger().addHandler(handler)
    yield stream
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """Put the root, gunicorn's and the HTTP libraries' loggers back as they were."""
    names = ("", "gunicorn.error", "gunicorn.access", "httpx", "httpcore",
             "twilio.http_client", "telegram")
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers),
                    logging.getLogger(name).propagate) for name in names}
    yield
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def test_a_line_is_one_json_object_with_time_level_logger_message_and_extras() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, "adref.test.json")
    logger.warning("outbox message dead: %s", "gave up", extra={"outbox_id": 12345678,
                                                                 "channel": "sms"})
    (line,) = json_lines(stream)
    assert line["level"] == "WARNING"
    assert line["logger"] == "adref.test.json"
    assert line["message"] == "outbox message dead: gave up"
    assert str(line["time"]).endswith("+00:00")
    # Our own row numbers are kept, however large they grow.
    assert (line["outbox_id"], line["channel"]) == (12345678, "sms")


def test_text_lines_for_people_are_redacted_too() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, "adref.test.text", json=False)
    logger.warning("cannot reach %s", PHONE)
    assert stream.getvalue().endswith(f"WARNING adref.test.text: cannot reach {logs.REDACTED}\n")


@pytest.mark.parametrize("text", [
    "+447911123456", "+44 7911 123456", "+44 29 2087 2087", "07911 123456", "07911123456",
    "029 2087 1234", "chat 987654321", "chat -1001234567890",
    "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
])
def test_the_filter_redacts_numbers_chat_ids_and_bot_tokens(text: str) -> None:
    redacted = logs.redact(text)
    assert logs.REDACTED in redacted
    assert not any(run in redacted for run in ("7911", "2087", "987654", "1234567", "AAHdq"))


@pytest.mark.parametrize("text", [
    "2026-11-21 15:00:00", "Listening at: http://127.0.0.1:8000 (4242)", "prometheus 0.26.0",
    "retry in 120 s", "reference K7PM-4XQ2",
])
def test_the_filter_leaves_dates_addresses_and_small_numbers(text: str) -> None:
    assert logs.redact(text) == text


def test_the_filter_redacts_extra_fields_and_tracebacks() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, "adref.test.extra")
    try:
        raise ValueError(f"The 'To' number {PHONE} is not a valid phone number")
    except ValueError:
        logger.exception("send failed", extra={
            "to": PHONE, "chat": CHAT_ID, "chats": [CHAT_ID, 7], "detail": {"from": PHONE},
            "urgent": True, "count": 3})
    (line,) = json_lines(stream)
    assert (line["to"], line["chat"], line["chats"]) == (logs.REDACTED, logs.REDACTED,
                                                        [logs.REDACTED, 7])
    assert line["detail"] == {"from": logs.REDACTED}
    assert (line["urgent"], line["count"]) == (True, 3)
    assert "ValueError: The 'To' number [redacted] is not" in str(line["exc_info"])
    assert "7911" not in stream.getvalue()


def test_a_whole_conversation_leaves_no_number_chat_id_or_message_text_in_the_logs(
    settings: Settings, db_engine: Engine, vault: Vault, content: Content,
    clock: FrozenClock, captured: io.StringIO,
) -> None:
    # 1. A young person asks for an interview by SMS, naming their area and writing a note;
    #    Twilio delivers one message twice, and someone forges one.
    # 2. Another does the same by Telegram, from a chat id long enough to be personal.
    # 3. The dispatcher sends the replies; one send fails with a message that quotes the
    #    number, as Twilio's do.
    channel_settings = replace(
        settings, public_base_url=BASE, telegram_bot_token=TG_TOKEN,
        telegram_webhook_secret=TG_SECRET, twilio_account_sid=TW_SID,
        twilio_auth_token=TW_TOKEN, twilio_from="+447700900000")
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    client: FlaskClient = create_app(
        Runtime(channel_settings, db_engine, vault, content, inbox)).test_client()
    sms = [text for text, _ in WELSH_BY_SMS]
    sms[6], sms[11] = AREA, NOTE
    for n, text in enumerate(sms):
        assert signed_sms(client, text, f"SM{n}", sender=PHONE).status_code == 200
    assert signed_sms(client, sms[0], "SM0", sender=PHONE).status_code == 200
    assert signed_sms(client, "Helo", "SMx", sender=PHONE, token="forged").status_code == 403
    telegram = [text for text, _ in ENGLISH_BY_TELEGRAM]
    telegram[11] = NOTE
    for n, text in enumerate(telegram):
        post_update(client, telegram_update(100 + n, text, chat_id=CHAT_ID))
    post_update(client, telegram_update(100, telegram[0], chat_id=CHAT_ID))

    class Quoting:
        async def start(self) -> None:
            """Nothing to open."""

        async def stop(self) -> None:
            """Nothing to close."""

        async def send(self, message: Outgoing) -> str:
            """Fail once, quoting the number as a provider's error message might."""
            raise RuntimeError(f"unreachable: {message.recipient}")

    asyncio.run(Dispatcher(db_engine, vault, {"sms": Quoting(), "telegram": Quoting()},
                           clock=clock, batch=2).run_once())

    lines = json_lines(captured)
    logged = captured.getvalue()
    assert any(line["message"] == "duplicate inbound event ignored" for line in lines)
    assert any("refused" in str(line["message"]) for line in lines)
    assert any(line["message"] == "send failed unexpectedly" for line in lines)
    for secret in (PHONE, PHONE[1:], "7911123456", str(CHAT_ID), NOTE, AREA, "Aberystwyth",
                   TG_SECRET, TW_TOKEN):
        assert secret not in logged, secret


def test_configure_sends_gunicorn_through_the_one_handler_and_quiets_http_libraries(
    fresh_logging: None,
) -> None:
    first, stream = io.StringIO(), io.StringIO()
    logs.configure(json=True, level="DEBUG", stream=first)
    logs.configure(json=True, level="DEBUG", stream=stream)  # as gunicorn does on reload
    logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 4242)
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/x",
                                    TG_TOKEN)
    logging.getLogger("telegram.ext").debug("Calling Bot API endpoint with %s", "a text")
    logging.getLogger("adref.test.configure").debug("a debug line")
    assert [line["message"] for line in json_lines(stream)] == [
        "Booting worker with pid: 4242", "a debug line"]
    assert first.getvalue() == ""
    ours = [h for h in logging.getLogger().handlers
            if any(isinstance(f, logs.Redact) for f in h.filters)]
    assert len(ours) == 1


def test_production_logs_json_and_development_plain_text_unless_told(tmp_path: Path) -> None:
    production = {"ADREF_ENV": "production", "SECRET_KEY": "s3cret-" * 6,
                  "ADREF_DATA_KEY": new_data_key()}
    assert Settings.from_env(production, tmp_path).log_format == "json"
    assert Settings.from_env({}, tmp_path).log_format == "text"
    assert Settings.from_env({**production, "LOG_FORMAT": "text"}, tmp_path
                             ).log_format == "text"
    told = Settings.from_env({"LOG_FORMAT": "JSON", "LOG_LEVEL": "debug"}, tmp_path)
    assert (told.log_format, told.log_level) == ("json", "DEBUG")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"}, tmp_path)
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "loud"}, tmp_path)
