"""Claim contention: practitioners racing for the same queue, through bot.casework.claim.

    .venv/bin/python -m bench.claims [--database-url URL] [--practitioners 2 8 32]

1. Migrate a fresh SQLite file (or the database given), and add a Cardiff team with as
   many practitioners as the largest race needs.
2. For each race of N: queue R new requests in Cardiff, then start N threads at once, each
   with its own engine and so its own connection, as N people at N browsers. Each takes
   the head of the queue as the dashboard orders it (urgent first, then the nearest
   deadline), claims it with `casework.claim` and commits; won or lost, it looks at the
   head again, until nothing is queued.
3. Count: claims per second (requests taken off the queue), the latency of every attempt
   (the claim and its commit), and the check that every request was claimed exactly
   once: one "claimed" event each, held by the one practitioner told they had won.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, col, select

from bench.report import ms, percentile
from bot import accounts, casework, queue
from bot.casework import Actor
from bot.clock import utcnow
from bot.config import default_content_dir
from bot.content import load
from bot.db import make_engine, session_scope, upgrade
from bot.models import Practitioner, RequestEvent, RhiRequest

AREA = "cardiff"
RACES = (2, 8, 32)


@dataclass
class _Practitioner:
    """One thread's tally."""

    actor: Actor
    won: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run(database_url: str, races: Sequence[int], requests: int, deadline: float
        ) -> list[dict[str, Any]]:
    """One race per entry of `races`, on the migrated database at database_url."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        actors = _practitioners(engine, max(races))
        return [_race(engine, database_url, actors[:n], requests, deadline) for n in races]
    finally:
        engine.dispose()


def _practitioners(engine: Engine, count: int) -> list[Actor]:
    content = load(default_content_dir())
    with session_scope(engine) as session:
        team = accounts.create_team(session, content, f"Claims {time.time_ns()}", [AREA])
        rows = [Practitioner(name=f"Practitioner {n}", email=f"p{n}.{team.id}@council.example",
                             role="practitioner", password_hash="bench: never signs in",
                             team_id=team.id, language="en") for n in range(count)]
        session.add_all(rows)
        session.flush()
        return [Actor(row.id or 0, "practitioner", frozenset({AREA})) for row in rows]


def _queue(engine: Engine, count: int, tag: str) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        session.execute(insert(RhiRequest), [{
            "reference": f"C{tag}-{n:05d}", "language": "en", "channel": "sms", "area": AREA,
            "returned_band": "today", "returned_at": now - timedelta(hours=2),
            "due_at": now + timedelta(hours=70, minutes=n), "in_care": "home",
            "contact_method": "text", "contact_time": "any", "welsh_worker": False,
            "status": "queued", "urgent": False, "created_at": now} for n in range(count)])


def _race(engine: Engine, url: str, actors: list[Actor], requests: int, deadline: float
          ) -> dict[str, Any]:
    tag = f"{len(actors)}x{time.time_ns() % 10**8}"
    _queue(engine, requests, tag)
    people = [_Practitioner(actor) for actor in actors]
    start = threading.Barrier(len(people) + 1)
    threads = [threading.Thread(target=_claim_all, args=(url, person, start, deadline),
                                name=f"practitioner-{n}") for n, person in enumerate(people)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    took = time.monotonic() - began
    problems = _check(engine, tag, requests, people)
    latencies = [x for person in people for x in person.latencies]
    won = sum(len(person.won) for person in people)
    return {"practitioners": len(actors), "requests": requests, "claimed": won,
            "attempts": len(latencies), "seconds": round(took, 3),
            "claims_per_s": round(won / took, 1) if took else None,
            "latency_ms": {f"p{p}": ms(percentile(latencies, p)) for p in (50, 95, 99)},
            "check": {"passed": not problems, "problems": problems}}


def _claim_all(url: str, person: _Practitioner, start: threading.Barrier,
               deadline: float) -> None:
    """One practitioner: claim the head of the queue until it is empty."""
    engine = make_engine(url)  # a connection of their own, as a browser's request has
    try:
        with Session(engine) as session:  # connect before the start, not in the race
            session.exec(select(func.count()).select_from(RhiRequest)).one()
        start.wait()
        while time.monotonic() < deadline:
            with Session(engine) as session:
                head = queue.page(session, person.actor, queue.Filters(status="queued"),
                                  utcnow(), limit=1).rows
            if not head:
                return
            began = time.monotonic()
            with session_scope(engine) as session:
                result = casework.claim(session, person.actor, head[0].reference, utcnow())
            person.latencies.append(time.monotonic() - began)
            if result.claimed:
                person.won.append(head[0].reference)
    except Exception as error:  # counted as a failed check, with its name, not a traceback
        person.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    finally:
        engine.dispose()


def _check(engine: Engine, tag: str, requests: int, people: list[_Practitioner]) -> list[str]:
    """Every request claimed exactly once, by the one practitioner told they had won."""
    problems = [f"practitioner {p.actor.id}: {e}" for p in people for e in p.errors][:5]
    winners = {ref: p.actor.id for p in people for ref in p.won}
    wins = sum(len(p.won) for p in people)
    if wins != len(winners):
        problems.append(f"{wins - len(winners)} requests were won by two practitioners")
    with Session(engine) as session:
        rows = session.exec(
            select(RhiRequest.id, RhiRequest.reference, RhiRequest.status, RhiRequest.claimed_by)
            .where(col(RhiRequest.reference).startswith(f"C{tag}-"))).all()
        events = dict(session.exec(
            select(RequestEvent.request_id, func.count())
            .where(RequestEvent.kind == "claimed",
                   col(RequestEvent.request_id).in_([row[0] for row in rows]))
            .group_by(col(RequestEvent.request_id))).all())
    if len(rows) != requests:
        problems.append(f"{len(rows)} requests found, {requests} queued")
    unclaimed = [ref for _, ref, status, _ in rows if status != "claimed"]
    if unclaimed:
        problems.append(f"{len(unclaimed)} requests left unclaimed, e.g. {unclaimed[0]}")
    twice = [ref for row_id, ref, _, _ in rows if events.get(row_id or 0, 0) > 1]
    if twice:
        problems.append(f"{len(twice)} requests have more than one claimed event")
    wrong = [ref for _, ref, _, holder in rows if ref in winners and holder != winners[ref]]
    if wrong:
        problems.append(f"{len(wrong)} requests are held by someone who was told they lost")
    missing = [ref for row_id, ref, *_ in rows if ref not in winners or not events.get(row_id or 0)]
    if missing and not unclaimed:
        problems.append(f"{len(missing)} claims were never reported as won, e.g. {missing[0]}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Race, count, print; exit 0 only if every request was claimed exactly once."""
    parser = argparse.ArgumentParser(prog="python -m bench.claims",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None,
                        help="a database to use instead of a fresh SQLite file")
    parser.add_argument("--practitioners", type=int, nargs="+", default=list(RACES),
                        help="how many race at once, one race each")
    parser.add_argument("--requests", type=int, default=200, help="requests in each race")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds in all")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="adref-claims-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'claims.db'}"
        results = run(url, args.practitioners, args.requests,
                      time.monotonic() + args.timeout)
    if args.json:
        print(json.dumps(results, indent=2))
    for r in [] if args.json else results:
        latency = r["latency_ms"]
        print(f"{r['practitioners']:>3} practitioners: {r['claims_per_s']} claims/s, "
              f"{r['attempts']} attempts for {r['requests']} requests, p50 {latency['p50']} ms"
              f", p95 {latency['p95']} ms; {'PASS' if r['check']['passed'] else 'FAIL'} "
              f"{'; '.join(r['check']['problems'])}")
    return 0 if all(r["check"]["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
