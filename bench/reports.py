"""How long the queue page's SQL and the monthly report take on a large SQLite database.

    .venv/bin/python -m bench.reports                  # 100,000 requests, 20 runs each
    .venv/bin/python -m bench.reports --requests 5000 --runs 5 --json

1. Migrate a fresh SQLite file in a temporary directory.
2. Bulk-insert the requests (one executemany per batch, not one ORM object each), spread
   over twelve months and all 22 areas, a tenth with no area; most closed, some open,
   with claim and first-contact times; a granted consent for each, and some refusals.
3. Time the queue's first page (bot.queue.page, as a Cardiff manager sees it) and the
   monthly report (bot.reports.monthly, for that manager and for an admin), each --runs
   times, and print p50 and p95 in milliseconds.
4. Time the whole pages as a signed-in manager gets them through the Flask app (session
   check, SQL, rendering, the audit row): GET /dashboard and GET /dashboard/reports.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlmodel import Session

from bot import queue, reports
from bot.casework import Actor
from bot.clock import utcnow
from bot.config import Settings, default_content_dir
from bot.content import load
from bot.crypto import Vault
from bot.db import make_engine, upgrade
from bot.inbox import Inbox
from bot.models import OUTCOMES, ConsentRecord, RhiRequest
from bot.runtime import Runtime
from tests.factories import Dashboard, make_people
from webhooks import create_app

BATCH = 5_000
NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
YEAR_AGO = NOW - timedelta(days=365)


def seed(session: Session, count: int, areas: list[str], rng: random.Random) -> None:
    """Insert count requests and their consents in batches."""
    for start in range(0, count, BATCH):
        requests, consents = [], []
        for n in range(start, min(start + BATCH, count)):
            created = YEAR_AGO + timedelta(seconds=rng.randrange(365 * 86400))
            closed = created < NOW - timedelta(days=7) or rng.random() < 0.5
            claimed = created + timedelta(hours=rng.expovariate(1 / 6))
            contact = claimed + timedelta(hours=rng.expovariate(1 / 30))
            welsh = rng.random() < 0.2
            requests.append({
                "reference": f"B{n:09d}", "language": "cy" if welsh else "en",
                "channel": "sms", "area": None if rng.random() < 0.1 else rng.choice(areas),
                "returned_band": "today", "returned_at": created - timedelta(hours=2),
                "due_at": created + timedelta(hours=70), "in_care": "home",
                "contact_method": "text", "contact_time": "any", "welsh_worker": welsh,
                "status": "closed" if closed else rng.choice(("queued", "claimed")),
                "urgent": rng.random() < 0.05,
                "claimed_at": claimed if closed or rng.random() < 0.5 else None,
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


def _pages(engine: Engine, url: str, runs: int) -> dict[str, dict[str, float]]:
    """The queue page and the report page, whole, for Bob (a Cardiff manager)."""
    content = load(default_content_dir())
    vault = Vault(bytes(range(32)))
    settings = Settings(database_url=url, secret_key="bench-secret-key-" + "x" * 32,
                        data_key=bytes(range(32)))
    inbox = Inbox(engine, vault, content, 72)
    app = create_app(Runtime(settings, engine, vault, content, inbox))
    people = make_people(engine, content, vault)
    dashboard = Dashboard(app.test_client(), utcnow)
    dashboard.sign_in(people.bob)
    client = dashboard.client

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    return {"queue_page_http": timed(runs, lambda: get("/dashboard")),
            "report_page_http": timed(runs, lambda: get("/dashboard/reports?month=2026-10"))}


def main(argv: list[str] | None = None) -> int:
    """Seed, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    areas = [area.code for area in load(default_content_dir()).areas]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            began = time.perf_counter()
            with Session(engine) as session:
                seed(session, args.requests, areas, random.Random(7))
            seeded = time.perf_counter() - began
            manager = Actor(1, "manager", frozenset({"cardiff", "vale_of_glamorgan"}))
            month = reports.month_bounds(2026, 10)
            with Session(engine) as session:
                figures = {
                    "queue_page": timed(args.runs, lambda: queue.page(
                        session, manager, queue.Filters(), NOW)),
                    "report_manager": timed(args.runs, lambda: reports.monthly(
                        session, *reports.scope(manager)[:1], *month, 72,
                        unsure=reports.scope(manager)[1])),
                    "report_admin": timed(args.runs, lambda: reports.monthly(
                        session, None, *month, 72)),
                }
            figures.update(_pages(engine, url, args.runs))
        finally:
            engine.dispose()
    result = {"requests": args.requests, "runs": args.runs,
              "seed_seconds": round(seeded, 1), **figures}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.requests:,} requests seeded in {seeded:.1f} s; {args.runs} runs each")
        for name, times in figures.items():
            print(f"  {name:16} p50 {times['p50_ms']:8.2f} ms   p95 {times['p95_ms']:8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
