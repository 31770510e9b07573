"""Gunicorn settings for Adref in production, and for the webhook benchmark (bench/).

    gunicorn -c webhooks/gunicorn_conf.py 'webhooks:create_app()'

Read from the environment (gunicorn's own command-line options override these):
  ADREF_BIND                    address to listen on (default 127.0.0.1:8000; put a TLS
                                proxy in front, since Telegram and Twilio call https://)
  ADREF_WORKERS                 worker processes (default 2 x the CPUs this process may use)
  ADREF_THREADS                 threads per worker (default 4)
  ADREF_INPROCESS_DISPATCHER=1  run the outbox dispatcher inside every worker

Why these choices:
- gthread: a webhook spends most of its time waiting on the database, so threads overlap
  those waits; idle keep-alive connections sit in the worker's poller, not on a thread.
- The app is not preloaded: each worker builds its own Runtime after the fork, so no
  database connection or lock is ever shared between processes.
- With the in-process dispatcher, a commit wakes that worker's dispatcher at once, so
  replies go out without waiting for a poll. Several dispatchers are safe together: each
  outbox row is claimed with a conditional UPDATE, and only one claim can succeed. Without
  it, run `adref worker` beside the web workers.
- On SQLite, every worker queues for one write lock: set ADREF_WORKERS to the number of
  CPUs, not twice it (bench/README.md has the figures). 2 x CPUs is for PostgreSQL.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from bot.worker import Background

# Logged by every worker once its app is loaded: bench/ waits for one line per worker.
READY_MESSAGE = "adref worker ready"


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
workers = _positive("ADREF_WORKERS", 2 * cpus())
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
errorlog = "-"
loglevel = "info"
accesslog = None  # webhook URLs carry no personal data, but a log per message is noise


class _Worker(Protocol):
    """The parts of gunicorn's worker the hooks use (gunicorn ships no type hints)."""

    pid: int
    wsgi: Any
    log: Any


# One per worker process: the hooks below run in the worker, after the fork.
_dispatcher: Background | None = None


def post_worker_init(worker: _Worker) -> None:
    """Start this worker's outbox dispatcher, when ADREF_INPROCESS_DISPATCHER=1."""
    global _dispatcher
    if os.environ.get("ADREF_INPROCESS_DISPATCHER", "").strip() == "1":
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
