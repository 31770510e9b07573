"""Tests for migrations/ and bot.db's migration helpers."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.db import alembic_config, downgrade, make_engine, upgrade


def table_names(engine: Engine) -> set[str]:
    """The tables the database has, without Alembic's bookkeeping."""
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    assert table_names(engine) == set()
    upgrade(engine)
    assert table_names(engine) == set(SQLModel.metadata.tables)
    engine.dispose()


@pytest.mark.sqlite_only
def test_upgrade_leaves_foreign_keys_switched_back_on(empty_database_url: str) -> None:
    # Migrations run with foreign keys off; the pooled connection must not keep that.
    engine = make_engine(empty_database_url)
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_migrations_match_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_alembic_check_finds_nothing_to_generate(db_engine: Engine) -> None:
    # `alembic check` is what a developer runs; it raises when a model changed without
    # a migration.
    with db_engine.connect() as connection:
        command.check(alembic_config(connection))


def test_downgrade_to_base_and_back_up(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert table_names(engine) == set()
    upgrade(engine)
    assert table_names(engine) == set(SQLModel.metadata.tables)
    engine.dispose()


def test_there_is_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
