"""Alembic environment: migrates the tables declared in bot.models."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from bot.db import make_engine, migration_connection
from bot.models import UtcDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write UtcDateTime as the plain DateTime it stores, so revisions need no app code."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    return False


def configure(**options: Any) -> None:
    """Configure the migration context the same way for every mode."""
    context.configure(
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        **options,
    )


def run_on(connection: Connection) -> None:
    """Run the migrations on a connection."""
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def url_from_command_line() -> str:
    """Return the database named with `alembic -x url=...`."""
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("name the database: alembic -x url=sqlite:///adref.db ...")
    return url


if context.is_offline_mode():
    configure(url=url_from_command_line(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    # bot.db.upgrade() passes its own connection, already set up for batch mode.
    run_on(given)
else:
    engine = make_engine(url_from_command_line())
    try:
        with migration_connection(engine) as connection:
            run_on(connection)
    finally:
        engine.dispose()
