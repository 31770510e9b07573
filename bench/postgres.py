"""The PostgreSQL server the benchmarks use, and a fresh database on it for each run.

The server is the one given (`--postgres URL`), else $ADREF_BENCH_POSTGRES, else the one
`python3 dev.py postgres` starts and prints (Debian's cluster, when run as root). Its URL
names a role that may create databases; each benchmark creates its own database, with a
name that says what it is, and drops it when done, so nothing is left on the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT_VARIABLE = "ADREF_BENCH_POSTGRES"
# dev.py may first install the locked dependencies; longer than that means it is stuck.
DEV_PY_SECONDS = 300
DROP_ATTEMPTS = 20  # half a second apart


class NoPostgres(Exception):
    """No PostgreSQL server could be used; the message says why."""


def server_url(given: str | None) -> str:
    """The server's URL: the one given, $ADREF_BENCH_POSTGRES, or dev.py's; else NoPostgres."""
    url = given or os.environ.get(ENVIRONMENT_VARIABLE) or _from_dev_py()
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except (SQLAlchemyError, ImportError, ValueError) as error:
        # The URL is never repeated: it holds a password.
        raise NoPostgres(f"cannot connect to the PostgreSQL server: {type(error).__name__}"
                         ) from error
    return url


def _from_dev_py() -> str:
    try:
        found = subprocess.run([sys.executable, str(ROOT / "dev.py"), "postgres"], cwd=ROOT,
                               capture_output=True, text=True, timeout=DEV_PY_SECONDS,
                               check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NoPostgres(f"dev.py postgres did not run: {error}") from error
    lines = found.stdout.strip().splitlines()
    if found.returncode != 0 or not lines:
        raise NoPostgres("no PostgreSQL: give --postgres URL or set ADREF_BENCH_POSTGRES "
                         "(dev.py found none)")
    return lines[-1]


def version(url: str) -> str:
    """The server's version, e.g. "15.18"."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar()).split()[0]
    finally:
        engine.dispose()


@contextmanager
def fresh_database(server: str, purpose: str) -> Iterator[str]:
    """Create an empty database for one benchmark, yield its URL, and always drop it."""
    name = f"adref_bench_{purpose}_{uuid.uuid4().hex[:8]}"
    # CREATE and DROP DATABASE cannot run inside a transaction.
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop the database, even with a session left open by a pool or a killed child.

    FORCE ends such sessions, but refuses outright when an autovacuum worker (the
    superuser's) is busy in the database; a plain DROP makes autovacuum give way, and
    only waits for other sessions to end.
    """
    for attempt in range(DROP_ATTEMPTS):
        force = " WITH (FORCE)" if attempt % 2 == 0 else ""
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"{force}'))
            return
        except SQLAlchemyError:
            if attempt == DROP_ATTEMPTS - 1:
                raise
            time.sleep(0.5)
