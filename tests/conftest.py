"""Fixtures shared by every test module."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, make_url, text

from bot.config import Settings, default_content_dir
from bot.content import Content, load
from bot.crypto import Vault
from bot.db import make_engine, upgrade
from bot.inbox import Inbox
from bot.runtime import Runtime
from tests.browser_chromium import chromium, live_server, tab  # noqa: F401  (fixtures)
from tests.factories import Dashboard, People, make_people
from tests.process import CONFIG_VARIABLES
from webhooks import create_app

# Fixed keys keep failures reproducible; they protect nothing.
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
TEST_DATA_KEY = bytes(range(32))


# A PostgreSQL server URL (dev.py sets it for the suite's second run): every test then
# gets its own database on that server instead of a SQLite file.
POSTGRES = os.environ.get("ADREF_TEST_POSTGRES")


def on_postgres() -> bool:
    """Whether this run of the suite is on PostgreSQL."""
    return POSTGRES is not None


def _database_at(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine | None]:
    """An AUTOCOMMIT engine on the server's maintenance database, or None on SQLite."""
    if POSTGRES is None:
        yield None
        return
    # CREATE and DROP DATABASE cannot run inside a transaction.
    engine = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: Engine | None
) -> Iterator[str]:
    """A database migrated to head once per run, copied for each test.

    Its URL on SQLite; on PostgreSQL its name, which CREATE DATABASE ... TEMPLATE takes.
    """
    if postgres_server is None:
        path = tmp_path_factory.mktemp("template") / "adref.db"
        upgrade(f"sqlite:///{path}")
        yield f"sqlite:///{path}"
        return
    name = f"adref_template_{uuid.uuid4().hex[:12]}"
    with postgres_server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(_database_at(POSTGRES or "", name))
        yield name
    finally:
        with postgres_server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _new_database(
    tmp_path: Path, postgres_server: Engine | None, template: str | None
) -> Iterator[str]:
    """A database of this test's own, a copy of template or empty; its URL."""
    if postgres_server is None:
        # The template engine was disposed, so its WAL is checkpointed into the main file.
        tmp_path.mkdir(parents=True, exist_ok=True)
        path = tmp_path / "adref.db"
        if template is not None:
            shutil.copyfile(template.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        return
    name = f"adref_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with postgres_server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield _database_at(POSTGRES or "", name)
    finally:
        with postgres_server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(
    tmp_path: Path, postgres_server: Engine | None, migrated_template: str
) -> Iterator[str]:
    """A fresh, fully migrated database for this test alone."""
    # Copying a migrated database is much cheaper than running every migration per test.
    with _new_database(tmp_path, postgres_server, migrated_template) as url:
        yield url


@pytest.fixture
def empty_database_url(tmp_path: Path, postgres_server: Engine | None) -> Iterator[str]:
    """A database with no tables at all, for this test alone (not database_url's)."""
    with _new_database(tmp_path / "empty", postgres_server, None) as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip what belongs to the other database's run of the suite."""
    for item in items:
        if on_postgres() and item.get_closest_marker("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason="SQLite only; runs in the SQLite run"))
        if not on_postgres() and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only; runs in its run"))


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for a throwaway instance on this test's own database."""
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        data_key=TEST_DATA_KEY,
        public_base_url="http://127.0.0.1:8000",
    )


@pytest.fixture
def db_engine(settings: Settings) -> Iterator[Engine]:
    """An engine on this test's fresh, fully migrated database."""
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def content() -> Content:
    """The real content, loaded once."""
    return load(default_content_dir())


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    """Saturday 21 November 2026, 3pm in Wales (GMT)."""
    return FrozenClock(datetime(2026, 11, 21, 15, 0, tzinfo=UTC))


@pytest.fixture
def vault() -> Vault:
    """The test vault."""
    return Vault(TEST_DATA_KEY)


@pytest.fixture
def inbox(db_engine: Engine, content: Content, vault: Vault, clock: FrozenClock) -> Inbox:
    """An inbox on a fresh database with a frozen clock."""
    return Inbox(db_engine, vault, content, target_hours=72, clock=clock)


@pytest.fixture
def app(settings: Settings, db_engine: Engine, vault: Vault, content: Content,
        inbox: Inbox) -> Flask:
    """The app around a Runtime on this test's own database, with CSRF on as in production.

    Its clock is the inbox's: the frozen `clock` fixture.
    """
    app = create_app(Runtime(settings, db_engine, vault, content, inbox))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """One browser's worth of cookies."""
    return app.test_client()


@pytest.fixture
def people(db_engine: Engine, content: Content, vault: Vault) -> People:
    """Alice, Bob, Charlie and Dee (tests/factories.py), second factor enrolled."""
    return make_people(db_engine, content, vault)


@pytest.fixture
def dashboard(client: FlaskClient, clock: FrozenClock) -> Dashboard:
    """Signing in and out of the dashboard with the test's client, at the frozen time."""
    return Dashboard(client, clock)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings,
           db_engine: Engine) -> CliRunner:
    """A runner for `adref` in tmp_path, on this test's database, with keys made there."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.chdir(tmp_path)
    return CliRunner()
