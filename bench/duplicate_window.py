"""The outbox's duplicate window: how long after the provider accepts a message the
dispatcher has recorded it. Only a crash inside that window can send a message twice.

    .venv/bin/python -m bench.duplicate_window [--messages N]

Queues N messages (one per chat) on a fresh SQLite database, sends them with the real
python-telegram-bot Bot to the fake Bot API on loopback, and prints the time from the
fake's receipt of each message to the dispatcher's commit of "sent": p50, p95, max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.channels.telegram import TelegramSender
from bot.clock import utcnow
from bot.crypto import Vault
from bot.db import make_engine, session_scope, upgrade
from bot.engine import Reply
from bot.models import Contact
from bot.outbox import Dispatcher, Outgoing, enqueue
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:BENCH-token"


class _Timed(Dispatcher):
    """A dispatcher that notes when each "sent" was committed."""

    recorded: dict[str, float]

    def _sent(self, message: Outgoing, provider_id: str) -> None:
        super()._sent(message, provider_id)
        self.recorded[message.recipient] = time.monotonic()


def main() -> None:
    """Measure and print the window."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300, help="messages to send")
    args = parser.parse_args()
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'window.db'}"
    upgrade(url)
    engine = make_engine(url)
    vault = Vault(bytes(range(32)))
    with session_scope(engine) as session:
        for n in range(args.messages):
            contact = Contact(channel="telegram", address_hash=vault.lookup_hash("telegram",
                              str(n)), address_enc=vault.seal(str(n)))
            session.add(contact)
            session.flush()
            enqueue(session, vault, key=f"bench:{n}", contact_id=contact.id, channel="telegram",
                    recipient=str(n), language="en", replies=[Reply("hello")], now=utcnow())

    async def send(api: FakeTelegramAPI) -> dict[str, float]:
        sender = TelegramSender(TOKEN, api.base_url)
        await sender.start()
        dispatcher = _Timed(engine, vault, {"telegram": sender}, batch=50)
        dispatcher.recorded = {}
        while await dispatcher.run_once():
            pass
        await sender.stop()
        return dispatcher.recorded

    with FakeTelegramAPI(TOKEN) as api:
        recorded = asyncio.run(send(api))
        arrived = {str(c.params["chat_id"]): c.at for c in api.calls_to("sendMessage")}
    engine.dispose()
    window = sorted((recorded[k] - arrived[k]) * 1000 for k in recorded)
    print(f"duplicate window over {len(window)} messages (provider accepted -> recorded sent):"
          f" p50 {statistics.median(window):.1f} ms, p95 {window[int(len(window) * 0.95)]:.1f}"
          f" ms, max {window[-1]:.1f} ms")


if __name__ == "__main__":
    main()
