"""One `adref worker` emptying a backlog: how fast one dispatcher sends, and its memory after.

    .venv/bin/python -m bench.dispatcher [--messages 1000] [--database-url URL]

1. Migrate the database and queue the replies to N first messages in the outbox, one
   contact each, half by Telegram and half by SMS, as the inbox writes them
   (bot.outbox.enqueue, sealed with the worker's data key).
2. Start `adref worker`, the installed command, as a service manager would, with the real
   python-telegram-bot Bot and twilio Client pointed at the fake APIs on loopback.
3. Wait until the fakes have every message and the outbox shows them all sent; read the
   worker's resident memory (psutil); stop it with SIGTERM, as systemd would.
4. Report its sending rate: messages over the time from the first to the last arrival
   at the fakes, so the worker's start-up is not counted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench import processes, tally
from bench.server import stop_session
from bench.webhooks import BenchError, environment
from bot.clock import utcnow
from bot.config import Settings, default_content_dir
from bot.content import load
from bot.crypto import Vault
from bot.db import make_engine, session_scope, upgrade
from bot.engine import Context, Inbound, State, step
from bot.models import Contact
from bot.outbox import enqueue
from tests.factories import TG_TOKEN, TW_SID, TW_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI


def run(database_url: str | None, messages: int, deadline: float) -> dict[str, Any]:
    """Queue the backlog, let one worker send it, and measure; always stops the worker."""
    with tempfile.TemporaryDirectory(prefix="adref-dispatcher-") as name, \
            FakeTelegramAPI(TG_TOKEN) as telegram, FakeTwilioAPI(TW_SID, TW_TOKEN) as twilio:
        folder = Path(name)
        url = database_url or f"sqlite:///{folder / 'adref.db'}"
        env = environment(url, telegram.base_url, twilio.base_url)
        upgrade(url)
        engine = make_engine(url)
        try:
            marks = tally.mark_before(engine, telegram, twilio)
            _backlog(engine, Vault(Settings.from_env(env, folder).data_key), messages)
            expected = tally.unsent(engine, marks)
            with (folder / "worker.log").open("wb") as log:
                worker = subprocess.Popen(
                    [_adref(), "worker"], env={**env, "PYTHONUNBUFFERED": "1"}, cwd=folder,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
                try:
                    sent = _wait(engine, marks, telegram, twilio, expected, worker, deadline)
                    rss = processes.rss_mib(worker.pid)
                finally:
                    stop_session(worker)
            if not sent:
                tail = (folder / "worker.log").read_text(errors="replace")[-2000:]
                raise BenchError(f"adref worker did not send {expected} messages in time; "
                                 f"its log ends:\n{tail}")
            arrived = sorted(c.at for calls in tally.collect_replies(telegram, twilio, marks)
                             .values() for c in calls)
        finally:
            engine.dispose()
    took = arrived[-1] - arrived[0] if len(arrived) > 1 else 0.0
    return {"messages": expected, "sent": len(arrived), "seconds": round(took, 2),
            "msgs_per_s": round((len(arrived) - 1) / took, 1) if took else None,
            "rss_mib": rss, "stopped_cleanly": worker.returncode == 0}


def _backlog(engine: Engine, vault: Vault, messages: int) -> None:
    """Queue the replies to a first message for each of `messages` people."""
    content = load(default_content_dir())
    now = utcnow()
    with session_scope(engine) as session:
        for n in range(messages):
            channel = "telegram" if n % 2 else "sms"
            address = str(7 * 10**9 + n) if channel == "telegram" else f"+4477009{n:05d}"
            replies = step(State(), Inbound("Hi", channel),
                           Context(now, content, 72, new_reference="BENCH")).replies
            contact = Contact(channel=channel, address_hash=vault.lookup_hash(channel, address),
                              address_enc=vault.seal(address), created_at=now, last_seen_at=now)
            session.add(contact)
            session.flush()
            enqueue(session, vault, key=f"bench:{n}", contact_id=contact.id, channel=channel,
                    recipient=address, language=None, replies=replies, now=now)


def _wait(engine: Engine, marks: tally.Marks, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI,
          expected: int, worker: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline and worker.poll() is None:
        arrived = sum(len(c) for c in tally.collect_replies(telegram, twilio, marks).values())
        if arrived >= expected and tally.unsent(engine, marks) == 0:
            return True
        time.sleep(0.1)
    return False


def _adref() -> str:
    """The `adref` command installed beside this Python (the project's .venv)."""
    beside = Path(sys.executable).parent / "adref"
    found = str(beside) if beside.exists() else shutil.which("adref")
    if found is None:
        raise BenchError("the adref command is not installed; run `python3 dev.py test`")
    return found


def main() -> int:
    """Send the backlog and print what it took."""
    parser = argparse.ArgumentParser(prog="python -m bench.dispatcher",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="people with a reply due")
    parser.add_argument("--database-url", default=None, help="instead of a fresh SQLite file")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds in all")
    args = parser.parse_args()
    try:
        result = run(args.database_url, args.messages, time.monotonic() + args.timeout)
    except BenchError as error:
        print(f"bench.dispatcher: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
