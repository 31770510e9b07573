"""The database engine, sessions, and applying migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# How long a SQLite writer waits for another one to finish before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str) -> Engine:
    """Create an engine for url, tuned for SQLite when it is the embedded default."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    # Waitress threads and the dispatcher thread share the pool; SQLAlchemy never lets
    # two threads use one connection at once, so sqlite3's own check is redundant.
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def has_row_locks(bind: Engine | Connection) -> bool:
    """Whether the database locks rows and notifies listeners (PostgreSQL), or only the
    whole file (SQLite): SKIP LOCKED, FOR UPDATE and LISTEN/NOTIFY are used where it does."""
    return bind.dialect.name == "postgresql"


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module, whose implicit BEGIN
    # happens only before writes and breaks SAVEPOINTs; _begin_immediate issues it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets the dashboard read while a webhook writes; busy_timeout makes a second
        # writer wait instead of failing; SQLite leaves foreign keys off unless asked.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
    # when another writer committed in between (busy_timeout cannot help). Taking the
    # write lock up front makes writers queue instead; readers are never blocked in WAL.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that commits when the block ends and rolls back if it raises."""
    # Objects stay readable after commit, e.g. to render a reply from what was saved.
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in a transaction that is safe for Alembic's batch mode."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying and dropping it; with foreign keys on,
            # the drop would cascade-delete rows that point at it. The pragma only takes
            # effect outside a transaction, so it goes to the driver before BEGIN.
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _driver_execute(connection, "PRAGMA foreign_keys=ON")


def _driver_execute(connection: Connection, sql: str) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for migrations/, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Apply migrations up to revision (the latest by default)."""
    _migrate(engine_or_url, command.upgrade, revision)


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    """Undo migrations down to revision ("base" for an empty database)."""
    _migrate(engine_or_url, command.downgrade, revision)


def _migrate(
    engine_or_url: Engine | str, step: Callable[[Config, str], None], revision: str
) -> None:
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with migration_connection(engine) as connection:
            step(alembic_config(connection), revision)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()
