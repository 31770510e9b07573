"""How long the queue page and the monthly report take on a large database.

    .venv/bin/python -m bench.reports                  # SQLite, 100,000 requests, 20 runs each
    .venv/bin/python -m bench.reports --database-url postgresql+psycopg://... \
        --requests 100000 1000000                      # an empty PostgreSQL database, grown
    .venv/bin/python -m bench.reports --requests 5000 --runs 5 --json

1. Migrate the database (a fresh SQLite file in a temporary directory unless one is
   given) and add the personas of tests/factories.py: Bob manages the Cardiff team, Dee
   is an admin.
2. Grow it to each size in turn, spread over twelve months and the 22 areas, a tenth with
   no area; most closed, some open, with claim and first-contact times; a consent for
   each, and some refusals. On PostgreSQL, bench/bulk.py writes the rows in SQL, shaped
   as the app writes them, a million in about a minute; on SQLite, one executemany per
   batch.
3. Time the queue's first page (bot.queue.page, as Bob sees it) and the monthly report
   (bot.reports.monthly, for Bob and for Dee), each --runs times: p50 and p95 in ms.
4. Time the whole pages as Bob and Dee get them through the Flask app (session check,
   SQL, rendering, the audit row): GET /dashboard and GET /dashboard/reports.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, insert
from sqlmodel import Session

from bench import bulk
from bot import queue, reports
from bot.casework import Actor
from bot.clock import utcnow
from bot.config import Settings, default_content_dir
from bot.content import Content, load
from bot.crypto import Vault
from bot.db import make_engine, upgrade
from bot.inbox import Inbox
from bot.models import OUTCOMES, ConsentRecord, RhiRequest
from bot.runtime import Runtime
from tests.factories import Dashboard, People, make_people
from webhooks import create_app

BATCH = 5_000
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
YEAR_AGO = NOW - timedelta(days=365)
KEY = bytes(range(32))  # the data key: these rows protect nothing


def seed(session: Session, first: int, count: int, areas: list[str], holders: list[int],
         rng: random.Random) -> None:
    """Insert count requests (numbered from first) and their consents, in batches."""
    for start in range(first, first + count, BATCH):
        requests, consents = [], []
        for n in range(start, min(start + BATCH, first + count)):
            # In the order they came, as the app inserts them: a month's rows lie together.
            created = YEAR_AGO + timedelta(days=365 * (n - first + rng.random()) / count)
            closed = created < NOW - timedelta(days=7) or rng.random() < 0.5
            claimed = created + timedelta(hours=rng.expovariate(1 / 6))
            contact = claimed + timedelta(hours=rng.expovariate(1 / 30))
            welsh = rng.random() < 0.2
            status = "closed" if closed else rng.choice(("queued", "claimed"))
            requests.append({
                "reference": f"B{n:09d}", "language": "cy" if welsh else "en",
                "channel": "sms", "area": None if rng.random() < 0.1 else rng.choice(areas),
                "returned_band": "today", "returned_at": created - timedelta(hours=2),
                "due_at": created + timedelta(hours=70), "in_care": "home",
                "contact_method": "text", "contact_time": "any", "welsh_worker": welsh,
                "status": status, "urgent": rng.random() < 0.05,
                "claimed_by": rng.choice(holders) if status != "queued" else None,
                "claimed_at": claimed if status != "queued" else None,
                "first_contact_at": contact if closed else None,
                "outcome": rng.choice(OUTCOMES) if closed else None,
                "welsh_worker_given": (rng.random() < 0.7) if welsh else None,
                "created_at": created, "closed_at": contact if closed else None})
            consents.append({"purpose": "rhi_request", "granted": rng.random() > 0.1,
                             "wording_version": "rhi-1:bench", "language": "en",
                             "channel": "sms", "recorded_at": created})
        session.execute(insert(RhiRequest), requests)
        session.execute(insert(ConsentRecord), consents)
    session.commit()


def timed(runs: int, work: Callable[[], object]) -> dict[str, float]:
    """p50 and p95 of runs calls, in milliseconds."""
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        took.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(took, n=20, method="inclusive")
    return {"p50_ms": round(statistics.median(took), 2), "p95_ms": round(cuts[18], 2)}


def run(url: str, sizes: Sequence[int], runs: int) -> list[dict[str, Any]]:
    """Grow the migrated-or-empty database at url to each size in turn; time each."""
    if list(sizes) != sorted(sizes) or not sizes or sizes[0] < 1:
        raise ValueError("the sizes must be positive and growing")
    upgrade(url)
    engine = make_engine(url)
    content = load(default_content_dir())
    vault = Vault(KEY)
    try:
        people = make_people(engine, content, vault)
        holders = [people.alice.id, people.bob.id, people.charlie.id]
        clients = _signed_in(engine, url, content, vault, people)
        areas = [area.code for area in content.areas]
        results, have, rng = [], 0, random.Random(7)
        for size in sizes:
            began = time.perf_counter()
            if engine.dialect.name == "postgresql":
                bulk.seed(engine, areas, holders, vault, have + 1, size, NOW,
                          progress=lambda done: _say(f"{done:,} requests"))
            else:
                with Session(engine) as session:
                    seed(session, have, size - have, areas, holders, rng)
            seeded, have = time.perf_counter() - began, size
            _say(f"{size:,} requests seeded in {seeded:.1f} s; timing")
            results.append({"requests": size, "seed_seconds": round(seeded, 1),
                            **_queries(engine, runs), **_pages(clients, runs)})
        return results
    finally:
        engine.dispose()


def _queries(engine: Engine, runs: int) -> dict[str, dict[str, float]]:
    """The SQL alone, for Bob (a Cardiff manager) and for an admin."""
    manager = Actor(1, "manager", frozenset({"cardiff", "vale_of_glamorgan"}))
    areas, unsure = reports.scope(manager)
    month = reports.month_bounds(2026, 10)
    with Session(engine) as session:
        return {
            "queue_page": timed(runs, lambda: queue.page(
                session, manager, queue.Filters(), NOW)),
            "report_manager": timed(runs, lambda: reports.monthly(
                session, areas, *month, 72, unsure=unsure)),
            "report_admin": timed(runs, lambda: reports.monthly(session, None, *month, 72)),
        }


def _signed_in(engine: Engine, url: str, content: Content, vault: Vault, people: People
               ) -> dict[str, FlaskClient]:
    """A browser each for Bob (a Cardiff manager) and Dee (an admin), signed in."""
    settings = Settings(database_url=url, secret_key="bench-secret-key-" + "x" * 32,
                        data_key=KEY)
    app = create_app(Runtime(settings, engine, vault, content, Inbox(engine, vault, content,
                                                                     72)))
    clients = {}
    for name, persona in (("manager", people.bob), ("admin", people.dee)):
        dashboard = Dashboard(app.test_client(), utcnow)
        dashboard.sign_in(persona)
        clients[name] = dashboard.client
    return clients


def _pages(clients: dict[str, FlaskClient], runs: int) -> dict[str, dict[str, float]]:
    """The queue page and the report page, whole, as each signed-in browser gets them."""
    def get(client: FlaskClient, path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")

    found = {}
    for who, client in clients.items():
        found[f"queue_page_http_{who}"] = timed(runs, partial(get, client, "/dashboard"))
        found[f"report_page_http_{who}"] = timed(
            runs, partial(get, client, "/dashboard/reports?month=2026-10"))
    return found


def _say(message: str) -> None:
    print(f"bench.reports: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Seed, time, print."""
    parser = argparse.ArgumentParser(prog="python -m bench.reports",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None,
                        help="an empty (or migrated) database instead of a fresh SQLite file")
    parser.add_argument("--requests", type=int, nargs="+", default=[100_000],
                        help="sizes to grow to and time, smallest first")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="adref-reports-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        results = run(url, args.requests, args.runs)
    if args.json:
        print(json.dumps({"runs": args.runs, "sizes": results}))
        return 0
    for result in results:
        print(f"{result['requests']:,} requests seeded in {result['seed_seconds']:.1f} s; "
              f"{args.runs} runs each")
        for name, times in result.items():
            if isinstance(times, dict):
                print(f"  {name:24} p50 {times['p50_ms']:8.2f} ms   "
                      f"p95 {times['p95_ms']:8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
