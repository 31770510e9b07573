"""Running the dispatcher: in a thread beside the web app, or alone as `adref worker`.

Either way the process runs one dispatcher, woken by commits in the same process; `adref
worker`, which commits nothing of its own, is woken on PostgreSQL by a listener for
commits in any process (bot.wake). Both poll as well, in case a wake-up is missed.
Beside it, every hour, the retention purge (bot.purge): every process with a dispatcher
offers to run it, and on PostgreSQL one at a time does, so it runs however many
dispatchers there are, and however few.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot import purge, wake
from bot.config import Settings
from bot.outbox import Dispatcher, Sender
from bot.runtime import Runtime

log = logging.getLogger(__name__)

PURGE_EVERY = 3600.0
# Not at start: a process restarted in a loop, or started by a test, need not purge each
# time; an hour's delay would mean no purge at all for one restarted more often than that.
PURGE_FIRST = 300.0


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


def purge_now(runtime: Runtime, stop: threading.Event) -> None:
    """One scheduled purge at the inbox's time, unless another process is doing it."""
    try:
        done = purge.purge(runtime.engine, runtime.vault, runtime.inbox.clock(),
                           runtime.settings.retention_days, stop=stop.is_set)
    except purge.AlreadyRunning:
        log.info("purge left to the process already running it")
        return
    if done.total:
        log.info("purged data past retention", extra=done.counts())


async def _purge_on_schedule(runtime: Runtime, stop: threading.Event, first: float,
                             every: float) -> None:
    delay = first
    while not await asyncio.to_thread(stop.wait, delay):
        try:
            await asyncio.to_thread(purge_now, runtime, stop)
        except Exception:  # a database hiccup must not stop the sending
            log.exception("scheduled purge failed; it runs again at the next hour")
        delay = every


async def _run(runtime: Runtime, dispatcher: Dispatcher, channel_senders: Mapping[str, Sender],
               stop: threading.Event, poll: float, purge_times: tuple[float, float]) -> None:
    # One event loop for the process's whole life, so Telegram's Bot keeps one
    # connection pool instead of opening a client per message.
    for sender in channel_senders.values():
        await sender.start()
    try:
        await asyncio.gather(dispatcher.run(stop, poll=poll),
                             _purge_on_schedule(runtime, stop, *purge_times))
    finally:
        # If the dispatcher failed, the purge's thread is waiting on `stop` for up to an
        # hour, and the event loop can't close until that thread is done.
        stop.set()
        for sender in channel_senders.values():
            await sender.stop()


class Background:
    """The dispatcher on a thread of its own, for `adref serve`."""

    def __init__(self, runtime: Runtime, poll: float = 1.0,
                 purge_times: tuple[float, float] = (PURGE_FIRST, PURGE_EVERY)) -> None:
        self.runtime = runtime
        self.stop_event = threading.Event()
        channel_senders = senders(runtime.settings)
        dispatcher = Dispatcher(runtime.engine, runtime.vault, channel_senders, wake=runtime.wake)
        self.thread = threading.Thread(
            target=asyncio.run,
            args=(_run(runtime, dispatcher, channel_senders, self.stop_event, poll, purge_times),),
            name="adref-dispatcher", daemon=True)

    def start(self) -> None:
        """Start sending.

        It does not LISTEN: every commit in this process that writes to the outbox wakes
        it already (Runtime.wake), and under gunicorn every worker has one of these, so a
        NOTIFY would wake them all for each message, each to find nothing to lease. What
        another process queues (an `adref` command) waits one poll at most; `adref
        worker` processes do LISTEN, as they queue nothing themselves.
        """
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and stop."""
        self.stop_event.set()
        self.runtime.wake.set()  # don't sit out the poll interval
        self.thread.join(timeout)


def run_forever(runtime: Runtime, poll: float = 1.0, lease: float = 60.0,
                ready: Callable[[], None] | None = None,
                purge_times: tuple[float, float] = (PURGE_FIRST, PURGE_EVERY)) -> None:
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
        asyncio.run(_run(runtime, dispatcher, channel_senders, stop, poll, purge_times))
    finally:
        if listener is not None:
            listener.stop()
