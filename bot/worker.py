"""Running the dispatcher: in a thread beside the web app, or alone as `adref worker`.

Either way the process runs one dispatcher, woken by commits in the same process and, on
PostgreSQL, by a listener for commits in any process (bot.wake); it polls otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot import wake
from bot.config import Settings
from bot.outbox import Dispatcher, Sender
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def senders(settings: Settings) -> dict[str, Sender]:
    """A sender for every channel that has credentials; none for the others."""
    out: dict[str, Sender] = {}
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramSender

        out["telegram"] = TelegramSender(settings.telegram_bot_token,
                                         settings.telegram_api_base_url)
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        from bot.channels.twilio import TwilioSender

        out["sms"] = TwilioSender(settings.twilio_account_sid, settings.twilio_auth_token,
                                  settings.twilio_from, settings.twilio_api_base_url,
                                  settings.public_base_url)
    return out


async def _run(dispatcher: Dispatcher, channel_senders: Mapping[str, Sender],
               stop: threading.Event, poll: float) -> None:
    # One event loop for the process's whole life, so Telegram's Bot keeps one
    # connection pool instead of opening a client per message.
    for sender in channel_senders.values():
        await sender.start()
    try:
        await dispatcher.run(stop, poll=poll)
    finally:
        for sender in channel_senders.values():
            await sender.stop()


class Background:
    """The dispatcher on a thread of its own, for `adref serve`."""

    def __init__(self, runtime: Runtime, poll: float = 1.0) -> None:
        self.runtime = runtime
        self.stop_event = threading.Event()
        self.listener: wake.Listener | None = None
        channel_senders = senders(runtime.settings)
        dispatcher = Dispatcher(runtime.engine, runtime.vault, channel_senders, wake=runtime.wake)
        self.thread = threading.Thread(
            target=asyncio.run, args=(_run(dispatcher, channel_senders, self.stop_event, poll),),
            name="adref-dispatcher", daemon=True)

    def start(self) -> None:
        """Start sending."""
        self.listener = wake.listen(self.runtime.engine, self.runtime.wake)
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and stop."""
        self.stop_event.set()
        self.runtime.wake.set()  # don't sit out the poll interval
        self.thread.join(timeout)
        if self.listener is not None:
            self.listener.stop()


def run_forever(runtime: Runtime, poll: float = 1.0, lease: float = 60.0,
                ready: Callable[[], None] | None = None) -> None:
    """`adref worker`: send until SIGTERM or Ctrl-C, then finish the batch in hand and stop."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping after the current batch", extra={"signal": signum})
        stop.set()
        runtime.wake.set()  # don't sit out the poll interval

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if ready is not None:
        ready()  # only now is a SIGTERM a clean stop
    channel_senders = senders(runtime.settings)
    dispatcher = Dispatcher(runtime.engine, runtime.vault, channel_senders, wake=runtime.wake,
                            lease=timedelta(seconds=lease))
    listener = wake.listen(runtime.engine, runtime.wake)
    try:
        asyncio.run(_run(dispatcher, channel_senders, stop, poll))
    finally:
        if listener is not None:
            listener.stop()
