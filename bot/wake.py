"""Waking the dispatchers of every process when outbox rows are committed (PostgreSQL).

1. A transaction that writes to the outbox also calls `notify`: `pg_notify` inside the
   transaction, which PostgreSQL delivers only if and when it commits, so a dispatcher
   woken by it always finds the rows.
2. Each dispatcher process runs one `Listener`: a thread with a connection of its own,
   in autocommit, doing `LISTEN adref_outbox` and setting the dispatcher's wake Event on
   each notification.
3. If the database goes away, the listener reconnects with growing waits, and never
   raises into the dispatcher. Each time it starts listening it wakes the dispatcher
   once, for whatever was committed while nobody listened.

Polling stays as the fallback: a lost notification costs one poll interval at most.
SQLite has no NOTIFY; there, a dispatcher is woken only by commits in its own process
(Runtime.wake) and otherwise polls.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.db import has_row_locks

log = logging.getLogger(__name__)

CHANNEL = "adref_outbox"
# Shown in pg_stat_activity, so that the listener's connection is told from the pool's.
APPLICATION_NAME = "adref-wake"
# How long each wait for notifications lasts before the thread checks whether to stop.
STOP_CHECK_SECONDS = 0.5
# The first wait before reconnecting, doubled after each failure up to the last: a
# database that is restarting isn't hammered, and one that is back is soon used again.
FIRST_RETRY_SECONDS = 0.5
LAST_RETRY_SECONDS = 30.0
# libpq's defaults would notice a server that vanished without closing the connection
# (a failover, a dropped network) only after two hours, or wait that long to connect:
# the listener would be deaf all that time, and the dispatcher back to polling.
CONNECTION_DEFAULTS: dict[str, Any] = {
    "application_name": APPLICATION_NAME, "connect_timeout": 10,
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}


def notify(session: Session) -> None:
    """Wake every listening dispatcher once this session's transaction commits."""
    if has_row_locks(session.get_bind()):
        session.exec(select(func.pg_notify(CHANNEL, "")))


class Listener:
    """A thread that LISTENs on its own connection and sets `wake` on each notification."""

    def __init__(self, engine: Engine, wake: threading.Event, *,
                 first_retry: float = FIRST_RETRY_SECONDS,
                 last_retry: float = LAST_RETRY_SECONDS) -> None:
        self.engine, self.wake = engine, wake
        self.first_retry, self.last_retry = first_retry, last_retry
        # Set while LISTEN is in force, cleared while reconnecting.
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="adref-wake", daemon=True)

    def start(self) -> None:
        """Start listening, in the background."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        self._thread.join(timeout)

    def is_running(self) -> bool:
        """Whether the thread is still at work: listening, or waiting to reconnect."""
        return self._thread.is_alive()

    def _run(self) -> None:
        retry = self.first_retry
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    retry = self.first_retry
                    self.wake.set()  # for what was committed while nobody listened
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=STOP_CHECK_SECONDS):
                            self.wake.set()
            except psycopg.Error as error:
                log.warning("outbox wake-ups lost; reconnecting in %.1f s: %s", retry, error)
            except Exception:  # a bug here must not stop the dispatcher: it still polls
                log.exception("outbox wake-ups lost; reconnecting in %.1f s", retry)
            finally:
                self.listening.clear()
            if self._stop.wait(retry):
                break
            retry = min(retry * 2, self.last_retry)

    def _connect(self) -> psycopg.Connection[Any]:
        # The engine's own connection arguments, so the listener reaches the same
        # database as the pool does; autocommit, as a LISTEN takes effect on commit.
        args, params = self.engine.dialect.create_connect_args(self.engine.url)
        return psycopg.connect(*args, **{**CONNECTION_DEFAULTS, **params}, autocommit=True)


def listen(engine: Engine, wake: threading.Event) -> Listener | None:
    """A started Listener where the database has NOTIFY (PostgreSQL); None where it hasn't."""
    if not has_row_locks(engine):
        return None
    listener = Listener(engine, wake)
    listener.start()
    return listener
