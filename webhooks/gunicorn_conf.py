"""Gunicorn settings for Adref in production, and for the webhook benchmark (bench/).

    gunicorn -c webhooks/gunicorn_conf.py 'webhooks:create_app()'

Read from the environment (gunicorn's own command-line options override these):
  ADREF_BIND                    address to listen on (default 127.0.0.1:8000; put a TLS
                                proxy in front, since Telegram and Twilio call https://)
  ADREF_WORKERS                 worker processes (default: the CPUs this process may use)
  ADREF_THREADS                 threads per worker (default 4)
  ADREF_INPROCESS_DISPATCHER=1  run the outbox dispatcher inside every worker
  PROMETHEUS_MULTIPROC_DIR      where the workers keep their counters for /metrics (a
                                fresh temporary directory when unset; emptied at start)
and, like every Adref process, LOG_FORMAT and LOG_LEVEL (bot/config.py).

Why these choices:
- gthread: threads overlap a webhook's waits on the database and on slow clients; idle
  keep-alive connections sit in the worker's poller, not on a thread.
- The app is not preloaded: each worker builds its own Runtime after the fork, so no
  database connection or lock is ever shared between processes.
- With the in-process dispatcher, a commit wakes that worker's dispatcher at once, so
  replies go out without waiting for a poll (on PostgreSQL, `adref worker` processes are
  woken by LISTEN/NOTIFY instead, bot/wake.py). Several dispatchers are safe
  together: outbox rows are leased with a conditional UPDATE (and FOR UPDATE SKIP LOCKED on
  PostgreSQL), so only one lease can succeed. Without it, run `adref worker` beside the
  web workers.
- One worker per CPU, on SQLite and PostgreSQL alike. A webhook is CPU-bound in Python
  more than it waits on the database (docs/performance.md): more processes than CPUs
  only add context switches and connections; on SQLite they also queue for one write
  lock. The threads overlap the waits there are.
- Each worker asks the interpreter to switch threads every millisecond instead of every
  five: a webhook thread then waits less for the GIL behind a busy dispatcher or another
  request, which is what the latency tail is made of (docs/performance.md).
- Gunicorn's logger class sets up Adref's logging (bot/logs.py) whenever gunicorn sets up
  its own, at start and on reload, in the master before the first fork: gunicorn and
  every worker write the same redacted lines, JSON in production.
- Metrics use prometheus_client's multiprocess mode: each worker writes its counters to
  files in PROMETHEUS_MULTIPROC_DIR and /metrics sums them. prometheus_client chooses the
  mode when first imported, so nothing Adref's own is imported here at load time: the
  master must set the variable before anything imports it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from bot.worker import Background

# How often a thread holding the GIL must offer it to the others (Python's default is 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001
# Logged by every worker once its app is loaded: bench/ waits for one line per worker.
READY_MESSAGE = "adref worker ready"
# How prometheus_client names a process's file in PROMETHEUS_MULTIPROC_DIR.
_COUNTS_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")


def cpus() -> int:
    """The CPUs this process may run on (a container or taskset can allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value)
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {value!r}")
    return number


bind = [os.environ.get("ADREF_BIND", "").strip() or "127.0.0.1:8000"]
workers = _positive("ADREF_WORKERS", cpus())
worker_class = "gthread"
threads = _positive("ADREF_THREADS", 4)
# Long enough for a webhook that queues behind other writers on SQLite (busy_timeout is
# 10 s); Telegram and Twilio give up on a webhook after about 15 s and deliver it again.
timeout = 30
# Stop within the time a service manager usually waits before SIGKILL.
graceful_timeout = 20
# Behind a proxy that reuses connections, a little longer than gunicorn's 2 s default
# saves a TCP handshake per webhook.
keepalive = 5
# Gunicorn 25.1+ opens a control socket in $XDG_RUNTIME_DIR or ~/.gunicorn by default: a
# second instance on the same host (a staging copy, the benchmark) would take over the
# same path. Adref's gunicorn is managed with signals, as before.
control_socket_disable = True
errorlog = "-"  # then AdrefLogger sends gunicorn's lines through Adref's handler
accesslog = None  # webhook URLs carry no personal data, but a log per message is noise


class _Worker(Protocol):
    """The parts of gunicorn's worker the hooks use (gunicorn ships no type hints)."""

    pid: int
    wsgi: Any
    log: Any


# One per worker process: the hooks below run in the worker, after the fork.
_dispatcher: Background | None = None
# The metrics directory this master made, removed when it exits.
_made_metrics_dir: str | None = None


class AdrefLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """Gunicorn's logger, its lines sent through Adref's one redacting handler."""

    def setup(self, cfg: Any) -> None:
        """Let gunicorn set up, then take its loggers over (LOG_FORMAT, LOG_LEVEL)."""
        super().setup(cfg)
        from bot import logs
        from bot.config import ConfigError, Settings

        try:
            settings = Settings.from_env(os.environ, Path.cwd())
        except ConfigError as error:
            raise SystemExit(f"adref: {error}") from error
        logs.configure(settings.log_format == "json", settings.log_level)


logger_class = AdrefLogger


def on_starting(server: object) -> None:
    """In the master, before any worker: a metrics directory, fresh for this run."""
    global _made_metrics_dir
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if given:
        found = glob.glob(os.path.join(given, "*.db"))
        if any(not _COUNTS_FILE.fullmatch(os.path.basename(name)) for name in found):
            # /metrics would read those as counts, and fail; and this must never delete one.
            raise RuntimeError("PROMETHEUS_MULTIPROC_DIR holds *.db files that are not"
                               " prometheus_client's: give it a directory of its own")
        # prometheus_client's rule: files left by an earlier run must not be summed in.
        for stale in found:
            os.remove(stale)
    else:
        if "prometheus_client" in sys.modules:
            raise RuntimeError("prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR"
                               " was set: the workers' counts would never reach /metrics")
        _made_metrics_dir = tempfile.mkdtemp(prefix="adref-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_metrics_dir


def post_worker_init(worker: _Worker) -> None:
    """Start this worker's outbox dispatcher, when ADREF_INPROCESS_DISPATCHER=1."""
    global _dispatcher
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    if os.environ.get("ADREF_INPROCESS_DISPATCHER", "").strip() == "1":
        from bot.worker import Background
        from webhooks import runtime_of

        _dispatcher = Background(runtime_of(worker.wsgi))
        _dispatcher.start()
    worker.log.info("%s (pid %s, dispatcher %s)", READY_MESSAGE, worker.pid,
                    "on" if _dispatcher else "off")


def worker_exit(server: object, worker: _Worker) -> None:
    """Let this worker's dispatcher finish the batch in hand, then stop it."""
    global _dispatcher
    if _dispatcher is not None:
        _dispatcher.stop()
        _dispatcher = None


def child_exit(server: object, worker: _Worker) -> None:
    """In the master, once a worker has gone: prometheus_client's bookkeeping for it."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: object) -> None:
    """Remove the metrics directory this master made."""
    if _made_metrics_dir is not None:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)
