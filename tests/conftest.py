"""Fixtures shared by every test module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a throwaway instance whose files live in tmp_path."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'adref.db'}",
        secret_key=TEST_SECRET_KEY,
        data_key=TEST_DATA_KEY,
        public_base_url="http://127.0.0.1:8000",
    )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per run, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "adref.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_engine(settings: Settings, migrated_template: Path) -> Iterator[Engine]:
    """An engine on a fresh, fully migrated SQLite database for this test alone."""
    # Copying a migrated file is much cheaper than running every migration per test.
    # The template engine was disposed, so its WAL is checkpointed into the main file.
    shutil.copyfile(migrated_template, settings.database_url.removeprefix("sqlite:///"))
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
