"""/healthz and /readyz, as a load balancer would ask them."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.db import downgrade, make_engine
from bot.inbox import Inbox
from bot.runtime import Runtime
from webhooks import create_app


def test_healthz_says_the_process_is_alive(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json() == {"status": "ready"}


def test_readyz_is_unavailable_until_migrations_are_at_head(
    client: FlaskClient, db_engine: Engine
) -> None:
    downgrade(db_engine, "-1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "migrations"}


def test_readyz_is_unavailable_when_the_database_is_gone(
    settings: Settings, vault: Vault, content: Content, inbox: Inbox, tmp_path: Path
) -> None:
    gone = make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'adref.db'}")
    app = create_app(Runtime(settings, gone, vault, content, inbox))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "database"}
