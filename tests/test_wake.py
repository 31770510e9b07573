"""Dispatcher wake-ups: NOTIFY at commit, a listener that survives the database going away."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session

from bot.crypto import Vault
from bot.db import session_scope
from bot.engine import Reply
from bot.outbox import enqueue
from bot.wake import APPLICATION_NAME, Listener, listen
from tests.conftest import FrozenClock, on_postgres
from tests.process import free_port

postgres_only = pytest.mark.skipif(
    not on_postgres(), reason="LISTEN/NOTIFY is PostgreSQL's; SQLite has nothing to listen to")


def listener_pids(engine: Engine) -> list[int]:
    """The server processes of the connections LISTENing for wake-ups on engine's database."""
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = :name AND query LIKE 'LISTEN%'"),
            {"name": APPLICATION_NAME}).scalars())


def until(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Whether condition became true within timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def enqueue_one(session: Session, vault: Vault, clock: FrozenClock, key: str) -> None:
    enqueue(session, vault, key=key, contact_id=None, channel="sms", recipient="+447911123456",
            language="en", replies=[Reply("Hello")], now=clock())


def test_only_postgresql_gets_a_listener_and_on_sqlite_dispatchers_poll(
    db_engine: Engine,
) -> None:
    listener = listen(db_engine, threading.Event())
    try:
        assert (listener is None) == (db_engine.dialect.name == "sqlite")
    finally:
        if listener is not None:
            listener.stop()


@postgres_only
def test_a_commit_that_queues_messages_wakes_the_listener_and_not_before(
    db_engine: Engine, vault: Vault, clock: FrozenClock
) -> None:
    wake = threading.Event()
    listener = listen(db_engine, wake)
    assert listener is not None
    try:
        assert listener.listening.wait(10)
        assert wake.wait(1)  # the look it asks for on starting to listen
        wake.clear()
        with session_scope(db_engine) as session:
            enqueue_one(session, vault, clock, "in:sms:SM1")
            session.flush()
            assert not wake.wait(0.3)  # PostgreSQL delivers a NOTIFY only at commit
        assert wake.wait(5)
    finally:
        listener.stop()


@postgres_only
def test_the_listener_reconnects_when_its_connection_is_killed(
    db_engine: Engine, vault: Vault, clock: FrozenClock
) -> None:
    wake = threading.Event()
    listener = Listener(db_engine, wake, first_retry=0.05, last_retry=0.2)
    listener.start()
    try:
        assert listener.listening.wait(10) and until(lambda: listener_pids(db_engine))
        [first] = listener_pids(db_engine)
        with db_engine.connect() as connection:  # as a restarting server would
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        assert until(lambda: listener_pids(db_engine) not in ([], [first]))
        assert listener.listening.wait(10)
        wake.clear()
        with session_scope(db_engine) as session:
            enqueue_one(session, vault, clock, "in:sms:SM2")
        assert wake.wait(5)
    finally:
        listener.stop()


def test_a_listener_without_a_database_keeps_trying_and_stops_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = create_engine(f"postgresql+psycopg://adref@127.0.0.1:{free_port()}/adref")
    listener = Listener(nowhere, threading.Event(), first_retry=0.05, last_retry=0.1)
    with caplog.at_level(logging.WARNING, logger="bot.wake"):
        listener.start()
        try:
            # It tried again, and again, and is still at it.
            assert until(lambda: len(tries(caplog)) >= 3)
            assert listener.is_running() and not listener.listening.is_set()
        finally:
            started = time.monotonic()
            listener.stop()
    assert not listener.is_running() and time.monotonic() - started < 2
    assert all("reconnecting" in r.getMessage() for r in tries(caplog))
    nowhere.dispose()


def tries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.wake"]
