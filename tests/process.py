"""Running the installed `adref` command as a separate process, the way people run it."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from click.testing import Result

# Everything bot.config reads: a test must not pick up the developer's own setup.
CONFIG_VARIABLES = (
    "ADREF_ENV", "DATABASE_URL", "SECRET_KEY", "ADREF_DATA_KEY", "PUBLIC_BASE_URL",
    "RHI_TARGET_HOURS", "ADREF_CONTENT_DIR", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_API_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
    "TWILIO_API_BASE_URL", "LOG_FORMAT", "LOG_LEVEL", "METRICS_TOKEN", "PROMETHEUS_MULTIPROC_DIR",
    "PROXY_HOPS", "ADREF_DATA_KEY_PREVIOUS", "RETENTION_DAYS",
)  # fmt: skip
# A process that takes longer than this is stuck, not slow.
TIMEOUT_SECONDS = 60
# An `adref worker` finishes the batch in hand within this after SIGTERM.
STOP_SECONDS = 20


def adref_command() -> Path:
    """The `adref` script installed beside this Python (the project's .venv)."""
    beside = Path(sys.executable).parent / "adref"
    if beside.exists():
        return beside
    found = shutil.which("adref")
    if found is None:
        pytest.fail("the adref command is not installed; run `python3 dev.py test`")
    return Path(found)


def environment(database: Path | str) -> dict[str, str]:
    """This process's environment without Adref's settings, using database.

    database is a SQLite file, or a URL (a test's `database_url`, PostgreSQL included).
    """
    env = {k: v for k, v in os.environ.items()
           if k.removesuffix("_FILE") not in CONFIG_VARIABLES}
    env["DATABASE_URL"] = database if isinstance(database, str) else f"sqlite:///{database}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def adref(*args: str, cwd: Path, stdin: str = "", exit_code: int = 0,
          database: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `adref ARGS` in cwd, feeding stdin; check how it exits.

    It uses the database at the URL given, or else cwd's adref.db.
    """
    result = subprocess.run(
        [str(adref_command()), *args], cwd=cwd, env=environment(database or cwd / "adref.db"),
        input=stdin, capture_output=True, text=True, encoding="utf-8",
        timeout=TIMEOUT_SECONDS, check=False,
    )
    assert result.returncode == exit_code, (
        f"adref {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def lines(*typed: str) -> str:
    """What a person types, one message a line."""
    return "".join(f"{line}\n" for line in typed)


@dataclass
class Served:
    """A running `adref serve`: its port while it runs; what it printed once stopped."""

    port: int
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None

    def get(self, path: str) -> tuple[int, str, http.client.HTTPResponse]:
        """GET a path on it: status, body, and the response for its headers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8"), response
        finally:
            connection.close()


def free_port() -> int:
    """A loopback port nothing is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(cwd: Path, *args: str, database: str | None = None) -> Iterator[Served]:
    """Run `adref serve ARGS` on a free port until the block ends, then stop it (SIGTERM).

    It uses the database at the URL given, or else cwd's adref.db.
    """
    served = Served(free_port())
    process = subprocess.Popen(
        [str(adref_command()), "serve", *args, "--port", str(served.port)], cwd=cwd,
        env=environment(database or cwd / "adref.db"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"adref serve exited: {process.communicate()}"
            try:
                socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "adref serve did not open its port"
                time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        served.stdout, served.stderr = process.communicate(timeout=15)
        served.returncode = process.returncode


def ok(result: Result) -> str:
    """The output of a click command (run by CliRunner) that must have succeeded."""
    assert result.exit_code == 0, f"exit {result.exit_code}:\n{result.output}"
    assert result.exception is None, result.exception
    return result.output


def start_worker(cwd: Path, env: Mapping[str, str], *, poll: float = 0.1, lease: float = 2.0,
                 output: IO[str] | int = subprocess.PIPE) -> subprocess.Popen[str]:
    """`adref worker` in cwd; what it prints is piped, or written to `output` (a file)."""
    return subprocess.Popen(
        [str(adref_command()), "worker", "--poll", str(poll), "--lease", str(lease)],
        cwd=cwd, env=dict(env), stdout=output, stderr=subprocess.STDOUT, text=True)


def stop_worker(worker: subprocess.Popen[str]) -> str:
    """Stop a worker with SIGTERM (SIGKILL if it won't) and return what it printed."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        output, _ = worker.communicate(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        worker.kill()  # the caller's check of the exit code then fails
        output, _ = worker.communicate(timeout=5)
    return output or ""


def run_bench(*args: str, timeout: float, stop: float) -> tuple[int, str, str]:
    """Run `python -m ARGS` from the repository root: exit code, stdout and stderr.

    A run over `timeout` seconds gets SIGTERM, which makes a benchmark stop what it
    started, then SIGKILL after `stop` more seconds, and the test fails with its output.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", *args], cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=stop)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        pytest.fail(f"python -m {args[0]} took over {timeout} s:\n{out[-3000:]}\n{err}")
    return process.returncode, out, err
