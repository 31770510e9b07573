"""GET /metrics: who may read it, what the counters count, what the gauges say.

The counters are process-wide, as in production, so each test reads how much they moved
during it rather than what they hold.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from bot import metrics
from bot.config import ConfigError, Settings, new_data_key
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.inbox import Inbox
from bot.models import OutboxMessage
from bot.outbox import Dispatcher, Outgoing, TransportError
from bot.runtime import PUSH_CHANNELS, Runtime
from tests.conftest import FrozenClock
from tests.factories import (
    BASE,
    TG_SECRET,
    TG_TOKEN,
    TW_SID,
    TW_TOKEN,
    add_request,
    csrf_token,
    post_update,
    signed_sms,
    telegram_update,
)
from tests.process import CONFIG_VARIABLES
from webhooks import MAX_BODY_BYTES, create_app, gunicorn_conf
from webhooks.metrics import registry

TOKEN = "metrics-token-for-tests-0123456789"
Sample = tuple[str, tuple[tuple[str, str], ...]]


@pytest.fixture
def channel_settings(settings: Settings) -> Settings:
    """Both channels configured, and a metrics token."""
    return replace(settings, public_base_url=BASE, telegram_bot_token=TG_TOKEN,
                   telegram_webhook_secret=TG_SECRET, twilio_account_sid=TW_SID,
                   twilio_auth_token=TW_TOKEN, twilio_from="+447700900000",
                   metrics_token=TOKEN)


@pytest.fixture
def app(channel_settings: Settings, db_engine: Engine, vault: Vault, content: Content,
        clock: FrozenClock) -> Flask:
    """The app as it runs in production: replies to the outbox, errors answered with 500."""
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    return create_app(Runtime(channel_settings, db_engine, vault, content, inbox))


def scrape(client: FlaskClient) -> dict[Sample, float]:
    """Every sample /metrics reports, by name and labels."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def inbound(samples: dict[Sample, float], channel: str, result: str) -> float:
    return samples.get(("adref_inbound_total", (("channel", channel), ("result", result))), 0)


class Moved:
    """How far the inbound counters moved between two scrapes."""

    def __init__(self, client: FlaskClient) -> None:
        self.client, self.before = client, scrape(client)

    def __call__(self, channel: str) -> dict[str, float]:
        after = scrape(self.client)
        moved = {result: inbound(after, channel, result) - inbound(self.before, channel, result)
                 for result in metrics.INBOUND_RESULTS}
        return {result: n for result, n in moved.items() if n}


# Who may read it


def test_it_is_off_without_a_token(settings: Settings, db_engine: Engine, vault: Vault,
                                   content: Content, inbox: Inbox) -> None:
    assert settings.metrics_token is None
    client = create_app(Runtime(settings, db_engine, vault, content, inbox)).test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                      ).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789abcdef",
                                           f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, ""])
def test_it_refuses_a_missing_or_wrong_token_and_says_nothing_more(
    client: FlaskClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.get_data() == b""
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_it_answers_the_bearer_of_the_token(client: FlaskClient) -> None:
    samples = scrape(client)
    assert ("adref_rhi_overdue_requests", ()) in samples
    assert inbound(samples, "sms", "forbidden") >= 0


def test_production_refuses_a_placeholder_or_short_token_but_not_none(tmp_path: Path) -> None:
    def production(**extra: str) -> Settings:
        return Settings.from_env({"ADREF_ENV": "production", "SECRET_KEY": "s3cret-" * 6,
                                  "ADREF_DATA_KEY": new_data_key(), **extra}, tmp_path)

    assert production().metrics_token is None
    assert production(METRICS_TOKEN=TOKEN).metrics_token == TOKEN
    for weak in ("change-me", "x" * 40, "short-token"):
        with pytest.raises(ConfigError, match="METRICS_TOKEN"):
            production(METRICS_TOKEN=weak)
    (tmp_path / "token").write_text(TOKEN + "\n")
    assert production(METRICS_TOKEN_FILE="token").metrics_token == TOKEN


def test_it_refuses_a_multiprocess_directory_that_does_not_exist(tmp_path: Path) -> None:
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": "."}, tmp_path
                             ).metrics_multiproc_dir == tmp_path.resolve()
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": "missing"}, tmp_path)


# What the counters count


def test_a_signed_sms_a_forged_one_and_a_redelivery_count_as_accepted_forbidden_duplicate(
    client: FlaskClient,
) -> None:
    moved = Moved(client)
    assert signed_sms(client, "Shwmae", "SM1").status_code == 200
    assert signed_sms(client, "Shwmae", "SM2", token="forged-token").status_code == 403
    assert signed_sms(client, "Shwmae", "SM1").status_code == 200
    assert moved("sms") == {"accepted": 1, "forbidden": 1, "duplicate": 1}


def test_telegram_updates_count_by_result(client: FlaskClient) -> None:
    moved = Moved(client)
    post_update(client, telegram_update(1, "/start"))
    post_update(client, telegram_update(1, "/start"))
    post_update(client, telegram_update(2, "/start"), secret="wrong")
    post_update(client, {"update_id": 3, "message": {"text": 5}})
    assert client.post("/webhooks/telegram", json=[1], headers={
        "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}).status_code == 400
    post_update(client, {"update_id": 4})  # no message: an update kind Adref ignores
    assert moved("telegram") == {"accepted": 1, "duplicate": 1, "forbidden": 1,
                                 "malformed": 2, "ignored": 1}


def test_a_body_over_the_limit_counts_as_too_large(client: FlaskClient) -> None:
    moved = Moved(client)
    big = "x" * (MAX_BODY_BYTES + 1)
    assert signed_sms(client, big, "SM-big").status_code == 413
    assert post_update(client, telegram_update(9, big)).status_code == 413
    assert moved("sms") == {"too_large": 1}
    assert moved("telegram") == {"too_large": 1}


def test_web_chat_messages_count_as_accepted_duplicate_and_forbidden(
    client: FlaskClient,
) -> None:
    moved = Moved(client)
    form = {"csrf_token": csrf_token(client, "/chat"), "text": "Shwmae", "message_id": "m1"}
    assert client.post("/chat", data=form).status_code == 200
    assert client.post("/chat", data=form).status_code == 200  # a double click
    assert client.post("/chat", data={**form, "csrf_token": "stale"}).status_code == 400
    assert client.post("/chat", data={**form, "text": "x" * MAX_BODY_BYTES}).status_code == 413
    assert moved("web") == {"accepted": 1, "duplicate": 1, "forbidden": 1, "too_large": 1}


def test_an_exception_in_a_webhook_counts_as_an_error(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("the database went away")

    moved = Moved(client)
    monkeypatch.setattr(Inbox, "receive", broken)
    # The young person still gets the fixed safe reply (tests/test_fallback.py); the
    # failure is counted and logged all the same.
    response = signed_sms(client, "Shwmae", "SM1")
    assert response.status_code == 200 and "<Message>" in response.get_data(as_text=True)
    assert moved("sms") == {"error": 1}
    assert "message not handled" in caplog.text


class Scripted:
    """A sender that raises the errors it was given, in turn, then sends."""

    def __init__(self, *failures: TransportError) -> None:
        self.failures = list(failures)

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, message: Outgoing) -> str:
        """Fail as scripted, or succeed."""
        if self.failures:
            raise self.failures.pop(0)
        return f"SM{message.id}"


def outbox_row(engine: Engine, vault: Vault, clock: FrozenClock, key: str, *,
               channel: str = "sms", status: str = "pending", age: timedelta = timedelta()
               ) -> None:
    created = clock() - age
    with session_scope(engine) as session:
        session.add(OutboxMessage(
            idempotency_key=key, channel=channel, recipient_enc=vault.seal("+447911123456"),
            body_enc=vault.seal("Helo"), status=status, created_at=created,
            next_attempt_at=created))


def test_sends_count_as_sent_retry_failed_and_unreachable(
    db_engine: Engine, vault: Vault, clock: FrozenClock, channel_settings: Settings,
) -> None:
    def outbound(result: str) -> float:
        found = registry(db_engine, clock, None).get_sample_value(
            "adref_outbound_total", {"channel": "sms", "result": result})
        return found or 0

    before = {result: outbound(result) for result in metrics.OUTBOUND_RESULTS}
    for n in range(3):
        outbox_row(db_engine, vault, clock, f"k{n}")
    sender = Scripted(TransportError("timeout"), TransportError("21211 invalid", permanent=True),
                      TransportError("21610 opted out", unreachable=True))
    dispatcher = Dispatcher(db_engine, vault, {"sms": sender}, clock=clock)
    asyncio.run(dispatcher.run_once())  # the three fail: one to retry, two given up
    clock.now += timedelta(minutes=1)
    asyncio.run(dispatcher.run_once())  # the retry goes
    moved = {result: outbound(result) - before[result] for result in before}
    assert moved == {"sent": 1, "retry": 1, "failed": 1, "unreachable": 1}


def test_the_counts_of_every_process_are_summed(tmp_path: Path, db_engine: Engine,
                                                clock: FrozenClock) -> None:
    # Two processes, as two gunicorn workers would be, each counting in the shared folder
    # (a folder of its own: every *.db file in it is read as counts, a SQLite one too).
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    count = "from bot import metrics; metrics.inbound('sms', 'forbidden')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=60)
    summed = registry(db_engine, clock, shared).get_sample_value(
        "adref_inbound_total", {"channel": "sms", "result": "forbidden"})
    assert summed == 2


def test_gunicorn_empties_a_given_multiprocess_folder_before_the_first_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"left by the last run")
    (tmp_path / "README").write_text("not prometheus_client's")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn_conf.on_starting(object())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README"]


def test_gunicorn_refuses_a_multiprocess_folder_that_holds_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "adref.db").write_bytes(b"SQLite format 3")
    (tmp_path / "counter_123.db").write_bytes(b"left by the last run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="a directory of its own"):
        gunicorn_conf.on_starting(object())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adref.db", "counter_123.db"]


def test_gunicorn_refuses_to_make_a_folder_once_prometheus_client_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This test process has imported it, as a gunicorn.conf that imported bot/ would have:
    # the workers would then count in memory, and /metrics would read empty files.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(RuntimeError, match="imported before PROMETHEUS_MULTIPROC_DIR"):
        gunicorn_conf.on_starting(object())


# What the gauges say


def test_the_gauges_match_the_database_at_the_frozen_time(
    db_engine: Engine, vault: Vault, clock: FrozenClock, client: FlaskClient,
) -> None:
    now = clock()
    outbox_row(db_engine, vault, clock, "s1", age=timedelta(minutes=10))
    outbox_row(db_engine, vault, clock, "s2", status="sending", age=timedelta(minutes=4))
    outbox_row(db_engine, vault, clock, "s3", status="sent", age=timedelta(hours=3))
    outbox_row(db_engine, vault, clock, "s4", status="dead", age=timedelta(hours=5))
    outbox_row(db_engine, vault, clock, "s5", status="dead", age=timedelta(hours=6))
    outbox_row(db_engine, vault, clock, "t1", channel="telegram", age=timedelta(seconds=30))
    outbox_row(db_engine, vault, clock, "w1", channel="web", age=timedelta(hours=1))
    with session_scope(db_engine) as session:
        add_request(session, "cardiff", now - timedelta(hours=1))  # queued, in time
        add_request(session, "gwynedd", now - timedelta(hours=80))  # queued, overdue
        add_request(session, None, now - timedelta(hours=73))  # queued, overdue, no area
        add_request(session, "cardiff", now - timedelta(hours=90), status="claimed")  # overdue
        add_request(session, "cardiff", now - timedelta(hours=1), status="claimed")
        add_request(session, "cardiff", now - timedelta(days=9), status="closed")
        add_request(session, "cardiff", now - timedelta(days=9), status="withdrawn")

    samples = scrape(client)

    def gauge(name: str, channel: str | None = None) -> float:
        return samples[(name, (("channel", channel),) if channel else ())]

    assert [gauge("adref_outbox_pending_messages", c) for c in ("sms", "telegram", "web")
            ] == [2, 1, 1]
    assert [gauge("adref_outbox_oldest_pending_age_seconds", c)
            for c in ("sms", "telegram", "web")] == [600, 30, 3600]
    assert [gauge("adref_outbox_dead_messages", c) for c in ("sms", "telegram", "web")
            ] == [2, 0, 0]
    assert gauge("adref_rhi_queued_requests") == 3
    assert gauge("adref_rhi_overdue_requests") == 3


def test_the_gauges_are_zero_on_an_empty_database(client: FlaskClient) -> None:
    samples = scrape(client)
    gauges = {key: value for key, value in samples.items()
              if key[0].startswith(("adref_outbox", "adref_rhi"))}
    assert len(gauges) == 3 * 3 + 2
    assert set(gauges.values()) == {0}


def test_the_gauges_carry_no_label_but_the_channel(client: FlaskClient) -> None:
    labels = {name for (metric, pairs) in scrape(client) for name, _ in pairs
              if metric.startswith(("adref_outbox", "adref_rhi"))}
    assert labels == {"channel"}


# Under gunicorn, as in production


@pytest.fixture
def gunicorn_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """A production-like environment for gunicorn in tmp_path, on this test's database."""
    env = {k: v for k, v in os.environ.items()
           if k.removesuffix("_FILE") not in (*CONFIG_VARIABLES, "PROMETHEUS_MULTIPROC_DIR",
                                              "LOG_FORMAT", "LOG_LEVEL", "METRICS_TOKEN")}
    # INFO: the readiness lines that the helper waits for are logged at that level.
    return {**env, "DATABASE_URL": database_url, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
            "METRICS_TOKEN": TOKEN, "PUBLIC_BASE_URL": BASE, "TWILIO_ACCOUNT_SID": TW_SID,
            "TWILIO_AUTH_TOKEN": TW_TOKEN}


def test_under_gunicorn_every_worker_counts_and_every_line_is_json(
    tmp_path: Path, gunicorn_env: dict[str, str],
) -> None:
    import http.client

    from bench.server import Gunicorn

    def post(connection: http.client.HTTPConnection, path: str, body: str = "",
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        connection.request("POST" if body else "GET", path, body=body or None,
                           headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()

    forged = "From=%2B447911123456&Body=Shwmae&MessageSid=SM1"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with Gunicorn("webhooks:create_app()", gunicorn_env, workers=2, threads=1,
                  log=tmp_path / "gunicorn.log") as server:
        # A connection each: whichever worker accepts it answers, and counts, it.
        for _ in range(6):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            assert post(connection, "/webhooks/twilio/sms", forged, form)[0] == 403
            connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        status, body = post(connection, "/metrics",
                            headers={"Authorization": f"Bearer {TOKEN}"})
        connection.close()
    assert status == 200
    families = text_string_to_metric_families(body.decode())
    counted = {tuple(sorted(s.labels.items())): s.value for f in families for s in f.samples
               if s.name == "adref_inbound_total"}
    assert counted[(("channel", "sms"), ("result", "forbidden"))] == 6
    lines = (tmp_path / "gunicorn.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    refused = [r for r in records if r["message"].startswith("twilio sms webhook refused")]
    assert len(refused) == 6
    ready = [r for r in records if r["message"].startswith(gunicorn_conf.READY_MESSAGE)]
    assert len({r["process"] for r in ready}) == 2
    assert {r["logger"] for r in ready} == {"gunicorn.error"}
    assert not any("7911123456" in line for line in lines)


@pytest.fixture(autouse=True)
def _no_stray_multiproc_dir() -> Iterator[None]:
    # A test that sets it through monkeypatch must leave this process in memory mode.
    yield
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
