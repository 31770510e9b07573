"""What the processes under test cost: resident memory and CPU seconds, read with psutil.

CPU is counted per process id, as a difference between two samples, so that a web worker,
a PostgreSQL backend or the benchmark itself can be charged with what it used during one
load and nothing else. A process that is gone, or that this user may not read (another
user's PostgreSQL backend on some systems), counts as nothing rather than failing a run.
"""

from __future__ import annotations

import contextlib

# psutil ships no type information (pyproject.toml's dev extra installs it without stubs).
import psutil  # type: ignore[import-untyped]
from sqlalchemy import Engine, text

MIB = 1024 * 1024


def workers_of(master_pid: int) -> list[int]:
    """The process ids of a gunicorn master's workers."""
    try:
        return [int(child.pid) for child in psutil.Process(master_pid).children()]
    except psutil.Error:
        return []


def rss_mib(pid: int) -> float | None:
    """Resident memory of one process in MiB, or None if it cannot be read."""
    try:
        return round(int(psutil.Process(pid).memory_info().rss) / MIB, 1)
    except psutil.Error:
        return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User plus system CPU seconds so far, for each process that can be read."""
    found = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            found[pid] = float(times.user + times.system)
    return found


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two samples; a process born in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def postgres_backends(engine: Engine) -> list[int]:
    """The server processes connected to this engine's database, this one's included.

    Only meaningful when the server runs on this machine (the benchmark uses loopback).
    """
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars())
