"""`adref worker` as a real process: stops cleanly on SIGTERM, and a killed one loses nothing."""

from __future__ import annotations

import base64
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from bot.clock import utcnow
from bot.crypto import Vault
from bot.db import make_engine, session_scope, upgrade
from bot.engine import Reply
from bot.models import Contact
from bot.outbox import enqueue
from tests.conftest import TEST_DATA_KEY, TEST_SECRET_KEY
from tests.factories import TG_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.process import adref_command, environment

MESSAGES_PER_CHAT, CHATS = 6, 5


def queued_database(path: Path) -> None:
    """A database with MESSAGES_PER_CHAT messages queued for each of CHATS chats."""
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    vault = Vault(TEST_DATA_KEY)
    with session_scope(engine) as session:
        for chat in range(CHATS):
            contact = Contact(channel="telegram", address_hash=vault.lookup_hash("telegram",
                              str(chat)), address_enc=vault.seal(str(chat)))
            session.add(contact)
            session.flush()
            replies = [Reply(f"chat {chat} message {n}") for n in range(MESSAGES_PER_CHAT)]
            enqueue(session, vault, key=f"test:{chat}", contact_id=contact.id,
                    channel="telegram", recipient=str(1000 + chat), language="en",
                    replies=replies, now=utcnow())
    engine.dispose()


def start_worker(tmp_path: Path, api: FakeTelegramAPI) -> subprocess.Popen[str]:
    env = environment(tmp_path / "adref.db")
    env.update(TELEGRAM_BOT_TOKEN=TG_TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
               SECRET_KEY=TEST_SECRET_KEY,
               ADREF_DATA_KEY=base64.urlsafe_b64encode(TEST_DATA_KEY).decode())
    return subprocess.Popen([str(adref_command()), "worker", "--poll", "0.1", "--lease", "2"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def sent_texts(api: FakeTelegramAPI) -> Counter[str]:
    return Counter(str(c.params["text"]) for c in api.calls_to("sendMessage"))


def test_a_killed_worker_loses_nothing_and_the_duplicates_are_bounded(tmp_path: Path) -> None:
    queued_database(tmp_path / "adref.db")
    with FakeTelegramAPI(TG_TOKEN, hang=1.5) as api:
        api.fail_next("timeout", times=CHATS)  # the first sends hang: kill it mid-batch
        worker = start_worker(tmp_path, api)
        api.wait_for(CHATS, timeout=30, method="sendMessage")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert worker.stdout is not None
        worker.stdout.close()
        survivor = start_worker(tmp_path, api)
        try:
            deadline = time.monotonic() + 45
            while len(sent_texts(api)) < CHATS * MESSAGES_PER_CHAT and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            survivor.send_signal(signal.SIGTERM)
            output, _ = survivor.communicate(timeout=20)
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


def test_sigterm_stops_an_idle_worker_cleanly(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'adref.db'}")
    with FakeTelegramAPI(TG_TOKEN) as api:
        worker = start_worker(tmp_path, api)
        assert worker.stdout is not None
        first = worker.stdout.readline()  # printed once SIGTERM means "stop cleanly"
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0
    assert "Adref worker is sending" in first and "Adref worker stopped." in output
