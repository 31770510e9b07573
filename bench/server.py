"""Gunicorn as a child process on a loopback port, started and always stopped.

1. Start `python -m gunicorn -c webhooks/gunicorn_conf.py APP` bound to 127.0.0.1:0, in
   its own session so that its workers can be killed together if it will not stop.
2. Read the port it chose from its log, then wait for one "ready" line per worker: a
   worker that is still loading the app would otherwise count against the first seconds
   of the measurement.
3. On leaving, SIGTERM (a graceful stop: each worker's dispatcher finishes its batch),
   and SIGKILL to the whole session if that takes too long.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from webhooks import gunicorn_conf

CONFIG = Path(gunicorn_conf.__file__).resolve()
# Gunicorn waits graceful_timeout for its workers; then a little for itself.
STOP_SECONDS = gunicorn_conf.graceful_timeout + 5
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


class ServerError(Exception):
    """Gunicorn did not start, or stopped on its own."""


def stop_session(process: subprocess.Popen[Any]) -> None:
    """SIGTERM a process started in a session of its own; SIGKILL the whole session if it
    has not stopped within STOP_SECONDS."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


class Gunicorn:
    """One gunicorn master and its workers, serving `app` on a free loopback port."""

    def __init__(self, app: str, env: dict[str, str], *, workers: int, threads: int,
                 log: Path, start_timeout: float = 60.0) -> None:
        self.app, self.log_path, self.workers = app, log, workers
        self.start_timeout = start_timeout
        self.env = {**env, "ADREF_BIND": "127.0.0.1:0", "ADREF_WORKERS": str(workers),
                    "ADREF_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Where it listens, e.g. http://127.0.0.1:41234."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), self.app],
            env=self.env, cwd=self.log_path.parent, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"gunicorn exited ({self.process.returncode}) while "
                                  f"starting:\n{self.log_tail()}")
            log = self.log_path.read_text(errors="replace")
            found = _LISTENING.search(log)
            if found and log.count(gunicorn_conf.READY_MESSAGE) >= self.workers:
                self.port = int(found[1])
                return
            time.sleep(0.05)
        raise ServerError(f"gunicorn was not ready within {self.start_timeout:.0f} s:\n"
                          f"{self.log_tail()}")

    def stop(self) -> None:
        """Stop gracefully, or kill the whole session if that takes too long."""
        process, self.process = self.process, None
        if process is not None:
            stop_session(process)
            # A worker left behind by a master that died is still in the session.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines gunicorn and the app logged."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
