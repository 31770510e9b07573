"""Where a webhook's time goes: the hot path in one process, under cProfile.

    .venv/bin/python -m bench.profile [--database-url URL] [--conversations 40]

1. Migrate the database (a fresh SQLite file unless one is given: give a PostgreSQL
   database to profile the production path) and build the app as gunicorn's workers do,
   with the fake provider APIs on loopback.
2. Post the benchmark's webhooks (bench/conversations.py: every conversation's first
   message, then every second message, ...) through the Flask app in this thread, one at
   a time, after a warm-up: no gunicorn, no threads, so the profile is the path itself.
   Then send the replies they queued with the dispatcher and the real senders, batch by
   batch, its database work run inline so that the profiler sees it too.
3. Do both twice, with as many new people: first timed alone (wall and CPU time per
   message, SQL statements and the time inside them), then under cProfile, for the shares
   of the time by library and the functions that cost most.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from sqlalchemy import Engine, event

from bench.conversations import SMS_NUMBER, Conversation, Message, plan
from bot.config import Settings, default_content_dir
from bot.content import load
from bot.crypto import Vault
from bot.db import make_engine, upgrade
from bot.inbox import Inbox
from bot.outbox import Dispatcher
from bot.runtime import PUSH_CHANNELS, Runtime
from bot.worker import senders
from tests.factories import BASE, TG_SECRET, TG_TOKEN, TW_SID, TW_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from webhooks import create_app

T = TypeVar("T")
WARM_UP = 20  # messages before the profile starts: imports, caches, prepared statements
# Where a function's code lives -> what the report calls it; first match wins.
LIBRARIES = (
    ("psycopg", "psycopg (the driver; waits for the server included)"),
    ("sqlite3", "sqlite3 (the driver and SQLite itself)"),
    ("sqlalchemy", "SQLAlchemy and SQLModel"), ("sqlmodel", "SQLAlchemy and SQLModel"),
    ("/bot/engine/", "the engine (pure step)"), ("/bot/text.py", "the engine (pure step)"),
    ("/bot/safety.py", "the engine (pure step)"),
    ("cryptography", "sealing and hashing"), ("/bot/crypto.py", "sealing and hashing"),
    ("hmac", "sealing and hashing"),
    ("flask", "Flask and Werkzeug"), ("werkzeug", "Flask and Werkzeug"),
    ("jinja2", "Flask and Werkzeug"),
    ("telegram", "python-telegram-bot"), ("httpx", "httpx and httpcore (senders)"),
    ("httpcore", "httpx and httpcore (senders)"), ("twilio", "twilio"),
    ("requests", "requests and urllib3 (twilio's client)"),
    ("urllib3", "requests and urllib3 (twilio's client)"),
    ("prometheus_client", "prometheus_client (metrics)"), ("logging", "logging"),
    ("pythonjsonlogger", "logging"), ("json", "json"), ("asyncio", "asyncio"),
    ("/bot/", "Adref's own code"), ("/webhooks/", "Adref's own code"),
)


def main(argv: list[str] | None = None) -> int:
    """Profile the webhooks, then the dispatcher; print both reports."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None,
                        help="a migrated-or-empty database (default: a fresh SQLite file)")
    parser.add_argument("--conversations", type=int, default=40, help="people, 13 messages each")
    parser.add_argument("--top", type=int, default=15, help="functions to list")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="adref-profile-") as folder, \
            FakeTelegramAPI(TG_TOKEN) as telegram, FakeTwilioAPI(TW_SID, TW_TOKEN) as twilio:
        url = args.database_url or f"sqlite:///{Path(folder) / 'adref.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            settings = Settings(
                database_url=url, secret_key="profile-secret-key-" + "x" * 32,
                data_key=bytes(range(32)), public_base_url=BASE, telegram_bot_token=TG_TOKEN,
                telegram_webhook_secret=TG_SECRET, telegram_api_base_url=telegram.base_url,
                twilio_account_sid=TW_SID, twilio_auth_token=TW_TOKEN, twilio_from=SMS_NUMBER,
                twilio_api_base_url=twilio.base_url)
            content = load(settings.content_dir)
            vault = Vault(settings.data_key)
            inbox = Inbox(engine, vault, content, 72, push=PUSH_CHANNELS)
            app = create_app(Runtime(settings, engine, vault, content, inbox))
            client = app.test_client()
            content = load(default_content_dir())

            def post(message: Message) -> None:
                response = client.post(message.path, data=message.body,
                                       headers=message.headers)
                if response.status_code != 200:
                    raise RuntimeError(f"{message.path}: HTTP {response.status_code}")

            # Two sets of as many people: one timed alone, one under the profiler, which
            # slows what it watches. A few messages first warm the caches.
            dispatcher = Dispatcher(engine, vault, senders(settings), batch=50)
            _each(post, _in_turn(plan(2, 0.0, content))[:WARM_UP])
            _dispatch(dispatcher)
            timed, watched = (_in_turn(plan(args.conversations, 0.0, content))
                              for _ in range(2))
            sent: list[int] = []
            webhooks = _timed(engine, partial(_each, post, timed))
            dispatched = _timed(engine, lambda: sent.append(_dispatch(dispatcher)))
            webhooks_profile = _profiled(partial(_each, post, watched))
            dispatched_profile = _profiled(lambda: sent.append(_dispatch(dispatcher)))
            where = engine.dialect.name
            print(_report(f"Webhooks on {where}: {len(timed)} messages through the Flask "
                          "app, one at a time", webhooks, webhooks_profile, len(timed),
                          args.top))
            print(_report(f"Dispatcher on {where}: the {sent[0]} replies they queued, "
                          "leased, sent to the fake APIs and recorded", dispatched,
                          dispatched_profile, sent[0], args.top))
        finally:
            engine.dispose()
    return 0


def _dispatch(dispatcher: Dispatcher) -> int:
    """Send every due message, batch by batch; how many were sent."""
    async def inline(work: Callable[..., T], /, *args: Any) -> T:
        return work(*args)  # in this thread, where the profiler is

    async def everything() -> int:
        for sender in dispatcher.senders.values():
            await sender.start()
        total = 0
        try:
            while sent := await dispatcher.run_once():
                total += sent
        finally:
            for sender in dispatcher.senders.values():
                await sender.stop()
        return total

    with mock.patch("asyncio.to_thread", inline):
        return asyncio.run(everything())


@contextmanager
def _counting(engine: Engine) -> Iterator[dict[str, float]]:
    """Count SQL statements and the time spent inside them."""
    counts = {"statements": 0.0, "seconds": 0.0}
    started: dict[int, float] = {}

    def before(conn: Any, *_: Any) -> None:
        started[id(conn)] = time.perf_counter()

    def after(conn: Any, *_: Any) -> None:
        counts["statements"] += 1
        counts["seconds"] += time.perf_counter() - started.pop(id(conn), time.perf_counter())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _each(post: Callable[[Message], None], messages: list[Message]) -> None:
    for message in messages:
        post(message)


def _in_turn(conversations: list[Conversation]) -> list[Message]:
    """Everyone's first message, then everyone's second, and so on, as people overlap."""
    return [c.messages[n] for n in range(len(conversations[0].messages)) for c in conversations]


def _timed(engine: Engine, work: Callable[[], object]) -> dict[str, float]:
    """Wall and CPU seconds of work, its SQL statements and the seconds inside them."""
    with _counting(engine) as sql:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, **sql}


def _profiled(work: Callable[[], object]) -> dict[Any, Any]:
    """cProfile's raw statistics of work."""
    profile = cProfile.Profile()
    profile.enable()
    work()
    profile.disable()
    raw: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return raw


def _report(title: str, timing: dict[str, float], raw: dict[Any, Any], n: int, top: int
            ) -> str:
    """Where the time went, per message."""
    n = max(n, 1)
    libraries: Counter[str] = Counter()
    for (path, _line, name), (_calls, _total, own, _cumulative, _callers) in raw.items():
        where = f"{path}:{name}"
        libraries[next((label for part, label in LIBRARIES if part in where),
                       "Python built-ins" if path == "~" else "other")] += own
    profiled = sum(libraries.values()) or 1.0
    lines = [title,
             f"  per message: {timing['wall'] / n * 1000:.2f} ms wall, "
             f"{timing['cpu'] / n * 1000:.2f} ms CPU; {timing['statements'] / n:.1f} SQL "
             f"statements, {timing['seconds'] / n * 1000:.2f} ms inside them (the round "
             "trip and the server's work)",
             "  shares of the time under the profiler (which slows Python code more than "
             "waits), by library:"]
    lines += [f"    {seconds / profiled:6.1%}  {label}"
              for label, seconds in libraries.most_common(14)]
    lines.append(f"  the {top} functions with the most own time under the profiler:")
    ranked = sorted(raw.items(), key=lambda item: -item[1][2])[:top]
    for (path, line, name), (_calls, calls, own, _cumulative, _callers) in ranked:
        where = path.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
        lines.append(f"    {own / profiled:6.1%} {calls / n:7.1f} calls a message  "
                     f"{where}:{line} {name}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
