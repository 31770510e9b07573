"""Webhook benchmark: Adref under gunicorn, and a ceiling app under the same settings.

    .venv/bin/python -m bench.webhooks [--conversations 50] [--json]

1. Start the fake Telegram and Twilio APIs on loopback, and migrate a fresh SQLite
   database in a temporary directory (or the database in --database-url).
2. Start gunicorn with Adref, a dispatcher in every worker, and hold the conversations.
   Wait until the outbox is empty and the fakes have every reply the dialogue expects.
3. Stop it, and count what reached the fakes and the database.
4. Start gunicorn with the ceiling app (signature checks and a constant answer) and send
   the very same requests.
5. Print one table, or JSON. Exit 0 only if every check passed.
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
from pathlib import Path
from typing import Any

from bench import tally
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both targets, one after the other, and the checks; always stops what it started."""
    if not 0 <= args.duplicate_share <= 1:
        raise BenchError("--duplicate-share must be between 0 and 1")
    if args.think < 0:
        raise BenchError("--think must not be negative")
    deadline = time.monotonic() + args.timeout
    conversations = plan(args.conversations, args.duplicate_share,
                         load_content(default_content_dir()))
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="adref-bench-")))
        telegram = stack.enter_context(FakeTelegramAPI(TG_TOKEN))
        twilio = stack.enter_context(FakeTwilioAPI(TW_SID, TW_TOKEN))
        database_url = args.database_url or f"sqlite:///{folder / 'adref.db'}"
        _say("migrating the database")
        try:
            engine = connect(database_url)
        except ConfigError as error:
            raise BenchError(str(error)) from None
        stack.callback(engine.dispose)
        upgrade(engine)
        before = tally.mark_before(engine)
        env = _environment(database_url, telegram.base_url, twilio.base_url)

        _say(f"adref: {args.workers} workers x {args.threads} threads, "
             f"{len(conversations)} conversations")
        with Gunicorn(ADREF_APP, {**env, "ADREF_INPROCESS_DISPATCHER": "1"},
                      workers=args.workers, threads=args.threads,
                      log=folder / "adref.log") as server:
            adref = _hold(server, conversations, args.think, deadline)
            drained = tally.drain(engine, before, telegram, twilio, conversations, deadline)
        replies = tally.collect_replies(telegram, twilio)
        check = tally.count(conversations, adref, replies, engine, before, drained)
        reply_latencies = tally.reply_latencies(conversations, adref, replies)

        _say("ceiling: the same requests")
        with Gunicorn(CEILING_APP, {**env, "ADREF_INPROCESS_DISPATCHER": "0"},
                      workers=args.workers, threads=args.threads,
                      log=folder / "ceiling.log") as server:
            ceiling = _hold(server, conversations, args.think, deadline)
        if ceiling.failures:
            check.problems.append(f"ceiling: {len(ceiling.failures)} requests failed, "
                                  f"e.g. {ceiling.failures[0]}")

    adref_figures, ceiling_figures = figures(adref), figures(ceiling)
    return {
        "conversations": len(conversations),
        "workers": args.workers, "threads": args.threads, "cpus": gunicorn_conf.cpus(),
        "database": database_url.split(":", 1)[0].split("+", 1)[0],
        "duplicate_share": args.duplicate_share, "think_s": args.think,
        "targets": {"adref": adref_figures, "ceiling": ceiling_figures},
        "throughput_ratio": (round(adref_figures["msgs_per_s"] / ceiling_figures["msgs_per_s"], 3)
                             if ceiling_figures["msgs_per_s"] else None),
        "reply_latency_ms": {f"p{p}": ms(percentile(reply_latencies, p))
                             for p in (50, 95, 99)},
        "check": {"passed": check.passed, "replies": check.replies,
                  "expected_replies": check.expected_replies, "chats": check.chats,
                  "rhi_requests": check.requests, "inbound_events": check.events,
                  "messages": check.messages, "duplicates": check.duplicates,
                  "problems": check.problems},
    }


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _environment(database_url: str, telegram_url: str, twilio_url: str) -> dict[str, str]:
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
