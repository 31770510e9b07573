"""Webhook benchmark: Adref under gunicorn, and a ceiling app under the same settings.

    .venv/bin/python -m bench.webhooks [--conversations 50] [--json]

1. Start the fake Telegram and Twilio APIs on loopback, and migrate a fresh SQLite
   database in a temporary directory (or the database in --database-url).
2. Start gunicorn with Adref, a dispatcher in every worker, and hold the conversations.
   Wait until the outbox is empty and the fakes have every reply the dialogue expects,
   and count what reached the fakes and the database, and the CPU each process used.
3. Stop it, start gunicorn with the ceiling app (signature checks and a constant answer),
   and send the very same requests.
4. Print one table, or JSON. Exit 0 only if every check passed.

`measure` does the same for several paces on one start of each server: `python -m bench`
uses it for people who never pause and for people at a human pace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench import processes, tally
from bench.conversations import SMS_NUMBER, Conversation, Load, drive, plan
from bench.report import figures, ms, percentile, table
from bench.server import Gunicorn
from bot.config import ConfigError, default_content_dir, new_data_key
from bot.content import load as load_content
from bot.db import upgrade
from bot.runtime import connect
from tests.factories import BASE, TG_SECRET, TG_TOKEN, TW_SID, TW_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.process import CONFIG_VARIABLES
from webhooks import gunicorn_conf

ADREF_APP = "webhooks:create_app()"
CEILING_APP = "webhooks.ceiling:create_ceiling_app()"
# Proxy variables would send the child's loopback calls elsewhere; nothing leaves the host.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
# One round of people who never pause is over in well under a second on the ceiling: too
# short to be more than its start. Rounds are repeated until this long, at most this often.
CEILING_SECONDS = 2.0
CEILING_ROUNDS = 10


class BenchError(Exception):
    """The benchmark could not run to the end."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 0 only if every check passed."""
    args = _arguments().parse_args(argv)
    # A polite kill (a test's timeout, a CI cancel) stops gunicorn and the fakes too.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        result = run(args)
    except KeyboardInterrupt:
        print("bench: interrupted; gunicorn and the fakes were stopped", file=sys.stderr)
        return 130
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0 if result["check"]["passed"] else 1


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhooks", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--conversations", type=_at_least_one, default=50,
                        help="people at once, half by SMS (Welsh), half by Telegram (English)")
    parser.add_argument("--workers", type=_at_least_one, default=gunicorn_conf.workers,
                        help="gunicorn worker processes")
    parser.add_argument("--threads", type=_at_least_one, default=gunicorn_conf.threads,
                        help="threads per worker")
    parser.add_argument("--duplicate-share", type=float, default=0.1,
                        help="share of messages delivered twice at once")
    parser.add_argument("--database-url", default=None,
                        help="a migrated-or-empty database to use instead of a fresh SQLite "
                             "file (e.g. postgresql+psycopg://...)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each person pauses between messages (0: none, the "
                             "heaviest load; try 2 for reply latency at a human pace)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="give up after this many seconds in all")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


@dataclass(frozen=True)
class Setup:
    """The load and the server's shape: people at once, gunicorn workers, duplicates."""

    conversations: int = 50
    workers: int = gunicorn_conf.workers
    threads: int = gunicorn_conf.threads
    duplicate_share: float = 0.1
    ceiling_seconds: float = CEILING_SECONDS  # repeat a no-pause load on the ceiling this long


@dataclass
class _AdrefRun:
    """One load on Adref, and what came of it."""

    conversations: list[Conversation]
    load: Load
    check: tally.Check
    reply_latencies: list[float]
    cpu_ms_per_message: dict[str, float | None]
    worker_rss_mib: list[float]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both targets under the command line's load, and the checks."""
    if args.think < 0:
        raise BenchError("--think must not be negative")
    setup = Setup(args.conversations, args.workers, args.threads, args.duplicate_share)
    [result] = measure(args.database_url, setup, (args.think,),
                       time.monotonic() + args.timeout)
    return result


def measure(database_url: str | None, setup: Setup, paces: Sequence[float],
            deadline: float) -> list[dict[str, Any]]:
    """Adref, then the ceiling, under one load per pace; one result each. Always stops
    what it started.

    Both servers are started once and take the loads one after the other (each with
    fresh people), so a second pace costs no second start-up. A pace of 0 is people who
    never pause; it is repeated on the ceiling until it has run for CEILING_SECONDS, as a
    single round on the ceiling is over too quickly to measure.
    """
    if not 0 <= setup.duplicate_share <= 1:
        raise BenchError("the duplicate share must be between 0 and 1")
    content = load_content(default_content_dir())
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="adref-bench-")))
        telegram = stack.enter_context(FakeTelegramAPI(TG_TOKEN))
        twilio = stack.enter_context(FakeTwilioAPI(TW_SID, TW_TOKEN))
        database_url = database_url or f"sqlite:///{folder / 'adref.db'}"
        _say("migrating the database")
        try:
            engine = connect(database_url)
        except ConfigError as error:
            raise BenchError(str(error)) from None
        stack.callback(engine.dispose)
        upgrade(engine)
        env = environment(database_url, telegram.base_url, twilio.base_url)

        runs = []
        _say(f"adref: {setup.workers} workers x {setup.threads} threads, "
             f"{setup.conversations} conversations")
        with Gunicorn(ADREF_APP, {**env, "ADREF_INPROCESS_DISPATCHER": "1"},
                      workers=setup.workers, threads=setup.threads,
                      log=folder / "adref.log") as server:
            for think in paces:
                conversations = plan(setup.conversations, setup.duplicate_share, content)
                runs.append(_adref_load(server, engine, telegram, twilio, conversations,
                                        think, deadline))

        _say("ceiling: the same requests")
        ceilings = []
        with Gunicorn(CEILING_APP, {**env, "ADREF_INPROCESS_DISPATCHER": "0"},
                      workers=setup.workers, threads=setup.threads,
                      log=folder / "ceiling.log") as server:
            for think, adref in zip(paces, runs, strict=True):
                ceilings.append(_ceiling_load(server, adref.conversations, think,
                                              setup.ceiling_seconds, deadline))

    database = database_url.split(":", 1)[0].split("+", 1)[0]
    return [_result(setup, database, think, adref, ceiling)
            for think, adref, ceiling in zip(paces, runs, ceilings, strict=True)]


def _adref_load(server: Gunicorn, engine: Engine, telegram: FakeTelegramAPI,
                twilio: FakeTwilioAPI, conversations: list[Conversation], think: float,
                deadline: float) -> _AdrefRun:
    """Hold the conversations, wait for every reply, count, and charge the CPU used."""
    before = tally.mark_before(engine, telegram, twilio)
    workers = processes.workers_of(server.process.pid if server.process else 0)
    backends = processes.postgres_backends(engine)
    cpu_before = processes.cpu_seconds(workers + backends)
    bench_before = time.process_time()
    load = _hold(server, conversations, think, deadline)
    drained = tally.drain(engine, before, telegram, twilio, conversations, deadline)
    bench_cpu = time.process_time() - bench_before
    # Backends the pools opened during the load count from zero.
    backends = sorted(set(backends) | set(processes.postgres_backends(engine)))
    cpu_after = processes.cpu_seconds(workers + backends)
    replies = tally.collect_replies(telegram, twilio, before)
    check = tally.count(conversations, load, replies, engine, before, drained)
    if load.failures:
        # What the app said about it, before the log goes with the temporary directory.
        said = [line for line in server.log_tail(400).splitlines()
                if "Error" in line or "Exception" in line or "error" in line]
        check.problems.append(f"gunicorn's log: {said[-1][-300:] if said else '(nothing)'}")

    def per_message(pids: list[int]) -> float | None:
        if not pids or not load.requests:
            return None
        used = processes.used_since({p: cpu_before.get(p, 0.0) for p in pids},
                                    {p: s for p, s in cpu_after.items() if p in pids})
        return round(used / load.requests * 1000, 2)

    cpu = {"web_workers": per_message(workers), "postgres": per_message(backends),
           "bench": round(bench_cpu / load.requests * 1000, 2) if load.requests else None}
    rss = [m for m in map(processes.rss_mib, workers) if m is not None]
    return _AdrefRun(conversations, load, check,
                     tally.reply_latencies(conversations, load, replies), cpu, rss)


def _ceiling_load(server: Gunicorn, conversations: list[Conversation], think: float,
                  seconds: float, deadline: float) -> Load:
    rounds = [_hold(server, conversations, think, deadline)]
    while not think and sum(r.duration for r in rounds) < seconds \
            and len(rounds) < CEILING_ROUNDS:
        rounds.append(_hold(server, conversations, think, deadline))
    return Load(latencies=[x for r in rounds for x in r.latencies],
                failures=[f for r in rounds for f in r.failures], started=0.0,
                finished=sum(r.duration for r in rounds),
                cpu_seconds=sum(r.cpu_seconds for r in rounds))


def _result(setup: Setup, database: str, think: float, adref: _AdrefRun, ceiling: Load
            ) -> dict[str, Any]:
    check = adref.check
    if ceiling.failures:
        check.problems.append(f"ceiling: {len(ceiling.failures)} requests failed, "
                              f"e.g. {ceiling.failures[0]}")
    adref_figures, ceiling_figures = figures(adref.load), figures(ceiling)
    return {
        "conversations": setup.conversations,
        "workers": setup.workers, "threads": setup.threads, "cpus": gunicorn_conf.cpus(),
        "database": database, "duplicate_share": setup.duplicate_share, "think_s": think,
        "targets": {"adref": adref_figures, "ceiling": ceiling_figures},
        "throughput_ratio": (round(adref_figures["msgs_per_s"] / ceiling_figures["msgs_per_s"], 3)
                             if ceiling_figures["msgs_per_s"] else None),
        "reply_latency_ms": {f"p{p}": ms(percentile(adref.reply_latencies, p))
                             for p in (50, 95, 99)},
        "cpu_ms_per_message": adref.cpu_ms_per_message,
        "worker_rss_mib": adref.worker_rss_mib,
        "check": {"passed": check.passed, "replies": check.replies,
                  "expected_replies": check.expected_replies, "chats": check.chats,
                  "rhi_requests": check.requests, "inbound_events": check.events,
                  "messages": check.messages, "duplicates": check.duplicates,
                  "problems": check.problems},
    }


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def environment(database_url: str, telegram_url: str, twilio_url: str) -> dict[str, str]:
    """This process's environment, without Adref's own settings or proxies, plus the run's."""
    env = {k: v for k, v in os.environ.items()
           if k.removesuffix("_FILE") not in CONFIG_VARIABLES
           and k.lower() not in PROXY_VARIABLES and not k.startswith("ADREF_")}
    return env | {
        "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(48),
        "ADREF_DATA_KEY": new_data_key(), "PUBLIC_BASE_URL": BASE,
        "TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_url, "TWILIO_ACCOUNT_SID": TW_SID,
        "TWILIO_AUTH_TOKEN": TW_TOKEN, "TWILIO_FROM": SMS_NUMBER,
        "TWILIO_API_BASE_URL": twilio_url, "NO_PROXY": "127.0.0.1,localhost",
    }


def _hold(server: Gunicorn, conversations: list[Conversation], think: float,
          deadline: float) -> Load:
    remaining = deadline - time.monotonic()
    try:
        return asyncio.run(drive(server.url, conversations, remaining, think))
    except TimeoutError:
        raise BenchError(f"the conversations did not finish in time; gunicorn's log ends:\n"
                         f"{server.log_tail()}") from None


if __name__ == "__main__":
    sys.exit(main())
