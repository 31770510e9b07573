"""`adref worker` as a real process: stops cleanly on SIGTERM, a killed one loses nothing,
and on PostgreSQL a commit in another process wakes it at once."""

from __future__ import annotations

import base64
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.clock import utcnow
from bot.crypto import Vault
from bot.db import session_scope
from bot.engine import Reply
from bot.models import Contact
from bot.outbox import enqueue
from tests.conftest import TEST_DATA_KEY, TEST_SECRET_KEY, on_postgres
from tests.factories import TG_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.process import environment, start_worker, stop_worker
from tests.test_wake import listener_pids

MESSAGES_PER_CHAT, CHATS = 6, 5
# The line a worker prints once SIGTERM means "stop cleanly".
READY = "Adref worker is sending"


def queue_messages(engine: Engine, chats: int = CHATS, per_chat: int = MESSAGES_PER_CHAT
                   ) -> None:
    """`per_chat` messages queued for each of `chats` Telegram chats (1000, 1001, ...)."""
    vault = Vault(TEST_DATA_KEY)
    with session_scope(engine) as session:
        for chat in range(chats):
            address = str(1000 + chat)
            contact = Contact(channel="telegram", address_hash=vault.lookup_hash("telegram",
                              address), address_enc=vault.seal(address))
            session.add(contact)
            session.flush()
            replies = [Reply(f"chat {chat} message {n}") for n in range(per_chat)]
            enqueue(session, vault, key=f"test:{chat}", contact_id=contact.id,
                    channel="telegram", recipient=address, language="en",
                    replies=replies, now=utcnow())


def worker_environment(database_url: str, api: FakeTelegramAPI) -> dict[str, str]:
    """A worker's environment: this test's database, the test keys, the fake Bot API."""
    env = environment(database_url)
    env.update(TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
               SECRET_KEY=TEST_SECRET_KEY,
               ADREF_DATA_KEY=base64.urlsafe_b64encode(TEST_DATA_KEY).decode())
    return env


def sent_texts(api: FakeTelegramAPI) -> Counter[str]:
    return Counter(str(c.params["text"]) for c in api.calls_to("sendMessage"))


def test_a_killed_worker_loses_nothing_and_the_duplicates_are_bounded(
    tmp_path: Path, database_url: str, db_engine: Engine
) -> None:
    queue_messages(db_engine)
    with FakeTelegramAPI(TG_TOKEN, hang=1.5) as api:
        env = worker_environment(database_url, api)
        api.fail_next("timeout", times=CHATS)  # the first sends hang: kill it mid-batch
        worker = start_worker(tmp_path, env)
        try:
            api.wait_for(CHATS, timeout=30, method="sendMessage")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=10)
        survivor = start_worker(tmp_path, env)
        try:
            deadline = time.monotonic() + 45
            while len(sent_texts(api)) < CHATS * MESSAGES_PER_CHAT and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            output = stop_worker(survivor)
        texts = sent_texts(api)
    assert survivor.returncode == 0 and "stopped" in output
    # Every message arrived...
    assert set(texts) == {f"chat {c} message {n}" for c in range(CHATS)
                          for n in range(MESSAGES_PER_CHAT)}
    # ...and only the ones in flight when the worker died could arrive twice.
    assert all(count <= 2 for count in texts.values())
    assert sum(count - 1 for count in texts.values()) <= CHATS
    # Each chat's messages arrived in order (the first copy of each).
    for chat in range(CHATS):
        order = [str(c.params["text"]) for c in api.calls_to("sendMessage")
                 if str(c.params["chat_id"]) == str(1000 + chat)]
        firsts = list(dict.fromkeys(order))
        assert firsts == [f"chat {chat} message {n}" for n in range(MESSAGES_PER_CHAT)]


def test_sigterm_stops_an_idle_worker_cleanly(tmp_path: Path, database_url: str) -> None:
    with FakeTelegramAPI(TG_TOKEN) as api:
        worker = start_worker(tmp_path, worker_environment(database_url, api))
        try:
            assert worker.stdout is not None
            first = worker.stdout.readline()  # printed once SIGTERM means "stop cleanly"
        finally:
            output = stop_worker(worker)
    assert worker.returncode == 0
    assert READY in first and "Adref worker stopped." in output


@pytest.mark.skipif(not on_postgres(),
                    reason="LISTEN/NOTIFY is PostgreSQL's; on SQLite a worker polls")
def test_a_commit_in_another_process_wakes_a_worker_long_before_its_poll(
    tmp_path: Path, database_url: str, db_engine: Engine
) -> None:
    poll = 30.0
    with FakeTelegramAPI(TG_TOKEN) as api:
        worker = start_worker(tmp_path, worker_environment(database_url, api), poll=poll)
        try:
            assert worker.stdout is not None
            assert READY in worker.stdout.readline()
            deadline = time.monotonic() + 15
            while not listener_pids(db_engine) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert listener_pids(db_engine), "the worker never listened for wake-ups"
            # Starting to listen wakes it once, for anything missed: let that look pass,
            # so that only a notification can now wake it before the poll.
            time.sleep(1)
            committed = time.monotonic()
            queue_messages(db_engine, chats=1, per_chat=1)
            [call] = api.wait_for(1, timeout=poll / 2, method="sendMessage")
        finally:
            output = stop_worker(worker)
    assert call.at - committed < 3, f"sent {call.at - committed:.1f} s after the commit"
    assert worker.returncode == 0, output
