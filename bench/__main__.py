"""Every benchmark, one table: `python -m bench`.

    .venv/bin/python -m bench                 # the full run, about 6 minutes on 2 cores
    .venv/bin/python -m bench --quick         # every row at a tiny size, under a minute
    .venv/bin/python -m bench --json          # the rows and the raw results as JSON
    .venv/bin/python -m bench --markdown      # the table for docs/performance.md

What it runs, in this order, on SQLite and on PostgreSQL:
1. SMS: the segments every journey costs in each language (bench/sms.py).
2. Webhooks under gunicorn with the fake provider APIs, beside the bare-Flask ceiling:
   50 people who never pause (throughput), then 50 at a human pace (latency), with the
   end-to-end reply time, the CPU each process used, and a web worker's memory after
   (bench/webhooks.py).
3. One `adref worker` emptying a backlog: its rate and memory (bench/dispatcher.py).
4. Claim contention: 2, 8 and 32 practitioners racing for one queue (bench/claims.py).
5. The queue page and the monthly report at 100,000 requests on SQLite, and at 100,000
   and 1,000,000 on PostgreSQL (bench/reports.py, seeded by bench/bulk.py).

PostgreSQL is the server given with --postgres, else $ADREF_BENCH_POSTGRES, else the one
`python3 dev.py postgres` gives; each benchmark makes a fresh database on it and drops it
after. Without one, the PostgreSQL rows say "not run (no PostgreSQL)".

It exits 0 only if everything that could run ran and every check held (each reply and
each claim exactly once, no SMS cut short). A missed target is reported in the table
but fails the command only with --strict.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # it ships no type information

from bench import claims, dispatcher, postgres, reports, rows, sms, webhooks
from bench.summary import Row, failed, markdown_table, not_run, text_table
from bot.config import default_content_dir
from bot.content import LANGS, load
from webhooks import gunicorn_conf

DATABASES = ("sqlite", "postgresql")
PHASES = ("sms", "webhooks", "dispatcher", "claims", "reports")


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is: the full run, or the quick one."""

    conversations: int
    workers: dict[str, int]
    threads: int
    duplicate_share: float
    think: float
    dispatcher_messages: int
    races: tuple[int, ...]
    claim_requests: int
    sqlite_reports: int
    postgres_reports: tuple[int, int]
    report_runs: int
    ceiling_seconds: float  # how long the ceiling takes people who never pause, at least
    seconds: dict[str, float]  # each benchmark's time limit


CPUS = gunicorn_conf.cpus()
FULL = Sizes(
    conversations=50,
    # gunicorn's own default (webhooks/gunicorn_conf.py: one per CPU), as deployed.
    workers={"sqlite": gunicorn_conf.workers, "postgresql": gunicorn_conf.workers},
    threads=gunicorn_conf.threads,
    duplicate_share=0.1, think=2.0, dispatcher_messages=1000, races=claims.RACES,
    claim_requests=200, sqlite_reports=100_000, postgres_reports=(100_000, 1_000_000),
    report_runs=20, ceiling_seconds=webhooks.CEILING_SECONDS,
    seconds={"webhooks": 400, "dispatcher": 180, "claims": 240, "reports": 1800})
QUICK = Sizes(
    conversations=4, workers={"sqlite": 1, "postgresql": 1}, threads=2,
    duplicate_share=0.25, think=0.1, dispatcher_messages=20, races=claims.RACES,
    claim_requests=8, sqlite_reports=300, postgres_reports=(300, 1000), report_runs=3,
    ceiling_seconds=0.0,
    seconds={"webhooks": 90, "dispatcher": 60, "claims": 60, "reports": 120})


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, and exit 0 only if every check held."""
    args = _arguments().parse_args(argv)
    # A polite kill (a test's timeout, CI) stops gunicorn and drops the databases too.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        outcome = run(QUICK if args.quick else FULL, args)
    except KeyboardInterrupt:
        print("bench: interrupted; what it started was stopped", file=sys.stderr)
        return 130
    outcome["elapsed_seconds"] = round(time.monotonic() - started, 1)
    table: list[Row] = outcome.pop("table")
    problems = [f"{r.key}: {r.miss or r.verdict}" for r in failed(table, args.strict)]
    problems += outcome["errors"]
    everything = json.dumps({**outcome, "passed": not problems, "problems": problems,
                             "rows": [asdict(r) | {"verdict": r.verdict} for r in table]},
                            indent=2, default=str)
    if args.save:
        args.save.write_text(everything + "\n", encoding="utf-8")
    if args.json:
        print(everything)
    else:
        print(_heading(outcome, args.markdown))
        print(markdown_table(table) if args.markdown else text_table(table))
        missed = [r for r in table if r.target and not r.check and r.meets is False]
        print(f"\n{'PASS' if not problems else 'FAIL'}: "
              f"{len([r for r in table if r.check and r.ran])} checks run, "
              f"{len(failed(table))} failed; {len(missed)} targets missed; "
              f"{len(outcome['errors'])} benchmarks could not run; "
              f"{outcome['elapsed_seconds']:.0f} s")
        for problem in problems:
            print(f"  {problem}")
    return 0 if not problems else 1


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="every row at a tiny size: a smoke test, not a measurement")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    output.add_argument("--markdown", action="store_true", help="print Markdown tables")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", metavar="URL", default=None,
                       help="a PostgreSQL server URL, for a role that may CREATE DATABASE "
                            f"(default: ${postgres.ENVIRONMENT_VARIABLE}, else what "
                            "`python3 dev.py postgres` gives)")
    where.add_argument("--no-postgres", action="store_true", help="run on SQLite only")
    parser.add_argument("--only", nargs="+", choices=PHASES, default=list(PHASES),
                        help="run only these benchmarks (the others' rows say not run)")
    parser.add_argument("--strict", action="store_true",
                        help="also exit 1 when a target is missed")
    parser.add_argument("--save", metavar="FILE", type=Path, default=None,
                        help="also write everything --json prints to FILE")
    return parser


def run(sizes: Sizes, args: argparse.Namespace) -> dict[str, Any]:
    """Every benchmark chosen, on every database there is: the rows and the raw results."""
    errors: list[str] = []
    server, no_postgres = None, "not run (no PostgreSQL)"
    if args.no_postgres:
        no_postgres = "not run (--no-postgres)"
    else:
        try:
            server = postgres.server_url(args.postgres)
        except postgres.NoPostgres as error:
            _say(f"{error}; the PostgreSQL rows will say so")
    databases = [d for d in DATABASES if d == "sqlite" or server]
    machine = _machine(server)
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}  # how long each benchmark took

    def attempt(name: str, work: Callable[[], Any]) -> None:
        """Run one benchmark; on an error, note it and go on to the next."""
        _say(name)
        began = time.monotonic()
        try:
            results[name] = work()
        except Exception as error:
            first = str(error).splitlines()[0][:300] if str(error) else ""
            errors.append(f"{name}: {type(error).__name__}{f': {first}' if first else ''}")
            results[name] = None
        seconds[name] = round(time.monotonic() - began, 1)

    def database(name: str, purpose: str) -> AbstractContextManager[str | None]:
        """A fresh PostgreSQL database for one benchmark; None on SQLite (each makes one)."""
        if name == "sqlite" or server is None:
            return nullcontext(None)
        return postgres.fresh_database(server, purpose)

    def deadline(phase: str) -> float:
        return time.monotonic() + sizes.seconds[phase]

    chosen = set(args.only)
    dispatcher_database = databases[-1]

    # 1. SMS
    content = load(default_content_dir())
    if "sms" in chosen:
        attempt("sms", lambda: sms.every_journey(content))

    # 2. Webhooks, with each web worker's memory after them
    paces = {"busy": 0.0, "human": sizes.think}
    for name in databases if "webhooks" in chosen else []:
        setup = webhooks.Setup(sizes.conversations, sizes.workers[name], sizes.threads,
                               sizes.duplicate_share, sizes.ceiling_seconds)

        def hold(name: str = name, setup: webhooks.Setup = setup) -> Any:
            with database(name, "webhooks") as url:
                measured = webhooks.measure(url, setup, tuple(paces.values()),
                                            deadline("webhooks"))
            return dict(zip(paces, measured, strict=True))
        attempt(f"webhooks.{name}", hold)

    # 3. One dispatcher on its own: on PostgreSQL when there is one
    if "dispatcher" in chosen:
        def send() -> Any:
            with database(dispatcher_database, "dispatcher") as url:
                return dispatcher.run(url, sizes.dispatcher_messages, deadline("dispatcher"))
        attempt("dispatcher", send)

    # 4. Claim contention
    for name in databases if "claims" in chosen else []:
        def race(name: str = name) -> Any:
            with database(name, "claims") as url, _sqlite_unless(url) as where:
                return claims.run(where, sizes.races, sizes.claim_requests,
                                  deadline("claims"))
        attempt(f"claims.{name}", race)

    # 5. The queue and the monthly report, growing one database
    counts = {"sqlite": (sizes.sqlite_reports,), "postgresql": sizes.postgres_reports}
    for name in databases if "reports" in chosen else []:
        def grow(name: str = name) -> Any:
            with database(name, "reports") as url, _sqlite_unless(url) as where:
                return reports.run(where, counts[name], sizes.report_runs)
        attempt(f"reports.{name}", grow)

    why = {"chosen": chosen, "server": server is not None, "no_postgres": no_postgres,
           "dispatcher": dispatcher_database}
    table = [_explain(row, results, why)
             for row in _rows(sizes, results, dispatcher_database)]
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {"quick": args.quick, "machine": machine, "command": _command(args),
            "date": datetime.now(UTC).date().isoformat(), "results": results,
            "seconds": seconds, "errors": errors, "table": table}


def _rows(sizes: Sizes, results: dict[str, Any], dispatcher_database: str) -> list[Row]:
    """Every row of the table, from the results there are (the others blank)."""
    table = rows.sms_rows(results.get("sms"), [(j.key, lang, j.name)
                                              for j in sms.journeys("en") for lang in LANGS])
    for name in DATABASES:
        for pace, think in (("busy", 0.0), ("human", sizes.think)):
            table += rows.webhook_rows(
                name, pace, _get(results.get(f"webhooks.{name}"), pace), sizes.conversations,
                think, f"{sizes.workers[name]} workers x {sizes.threads} threads")
    table += rows.memory_rows(
        {name: _get(results.get(f"webhooks.{name}"), "human") for name in DATABASES},
        results.get("dispatcher"), dispatcher_database, sizes.dispatcher_messages)
    for name in DATABASES:
        table += rows.claim_rows(name, sizes.races, sizes.claim_requests,
                                 results.get(f"claims.{name}"))
    plans = {"sqlite": (("100k", sizes.sqlite_reports),),
             "postgresql": (("100k", sizes.postgres_reports[0]),
                            ("1m", sizes.postgres_reports[1]))}
    for name, plan in plans.items():
        grown = results.get(f"reports.{name}") or []
        for n, (label, count) in enumerate(plan):
            table += rows.report_rows(name, label, count, sizes.report_runs,
                                      grown[n] if n < len(grown) else None)
    return table


def _explain(row: Row, results: dict[str, Any], why: dict[str, Any]) -> Row:
    """The row as measured, or saying why it has no value."""
    parts = row.key.split(".")
    if parts[0] in ("sms", "dispatcher") or row.key == "memory.dispatcher":
        phase = source = "dispatcher" if parts[0] != "sms" else "sms"
        database = why["dispatcher"] if phase == "dispatcher" else None
    else:
        phase = "webhooks" if parts[0] == "memory" else parts[0]
        database = next(p for p in parts if p in DATABASES)
        source = f"{phase}.{database}"
    if phase not in why["chosen"]:
        return not_run([row], "not run (not chosen)")[0]
    if database == "postgresql" and not why["server"]:
        return not_run([row], why["no_postgres"])[0]
    if results.get(source) is None:
        return not_run([row], "could not run (see below)")[0]
    return row


def _get(found: Any, key: str) -> Any:
    return found.get(key) if isinstance(found, dict) else None


@contextmanager
def _sqlite_unless(url: str | None) -> Iterator[str]:
    """The URL given, or a fresh SQLite file's for as long as the block runs."""
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="adref-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'adref.db'}"


def _machine(server: str | None) -> dict[str, Any]:
    """What the figures were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo()
                  if line.startswith("model name")), platform.processor() or "unknown")
    return {"cpus": CPUS, "cpu_model": model,
            # Other work on the machine moves every figure: say how busy it was.
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "postgresql": postgres.version(server) if server else None,
            "platform": platform.platform()}


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def _command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python -m bench"]
    if args.quick:
        parts.append("--quick")
    if args.no_postgres:
        parts.append("--no-postgres")
    elif args.postgres:
        parts.append("--postgres URL")
    if set(args.only) != set(PHASES):
        parts += ["--only", *args.only]
    return " ".join(parts)


def _heading(outcome: dict[str, Any], markdown: bool) -> str:
    machine = outcome["machine"]
    quick = " (--quick: a smoke test, not a measurement)" if outcome["quick"] else ""
    lines = [f"Adref benchmarks{quick}, {outcome['date']}",
             f"machine: {machine['cpus']} CPUs ({machine['cpu_model']}), "
             f"{machine['memory_gib']} GiB; Python {machine['python']}, SQLite "
             f"{machine['sqlite']}, PostgreSQL {machine['postgresql'] or '(none)'}; load "
             f"average {machine['load_average_at_start'][0]:.1f} at the start, "
             f"{machine['load_average_at_end'][0]:.1f} at the end",
             f"command: {outcome['command']}"]
    # Two trailing spaces: a Markdown line break.
    return "\n".join(f"{line}  " if markdown else line for line in lines) + "\n"


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
