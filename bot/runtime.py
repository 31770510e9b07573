"""The running service's parts, built once from Settings and passed to whoever needs them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import yaml
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot import demo
from bot.config import ConfigError, Settings
from bot.content import Content, ContentError, load
from bot.crypto import Vault
from bot.db import make_engine, upgrade
from bot.inbox import Inbox

# Channels whose replies are sent later, by the dispatcher, through the outbox.
PUSH_CHANNELS = frozenset({"telegram", "sms"})


@dataclass(frozen=True)
class Runtime:
    """Settings, database engine, vault, content and inbox: one of each per process."""

    settings: Settings
    engine: Engine
    vault: Vault
    content: Content
    inbox: Inbox
    # Set after a commit that wrote to the outbox, so an in-process dispatcher sends at once;
    # on PostgreSQL, a dispatcher's listener (bot.wake) sets it for other processes' too.
    wake: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, settings: Settings, *, migrate: bool = False) -> Runtime:
        """Load content, connect to the database (migrating it first if asked).

        Raises ConfigError when the content or the database cannot be reached, so that a
        wrong path or address stops the service at once with a plain message, instead of
        failing later on a young person's first message.
        """
        try:
            content = load(settings.content_dir)
        except (ContentError, OSError, KeyError, ValueError, yaml.YAMLError) as error:
            raise ConfigError(f"cannot load content from {settings.content_dir}: {error}"
                              ) from error
        engine = connect(settings.database_url)
        if migrate:
            upgrade(engine)
        if settings.production and demo.present(engine):
            engine.dispose()
            raise ConfigError("this database holds demo accounts (from `adref serve --demo`);"
                              " production needs a database without them")
        vault = Vault(settings.data_key, settings.previous_data_keys)
        wake = threading.Event()
        inbox = Inbox(engine, vault, content, settings.rhi_target_hours, push=PUSH_CHANNELS,
                      on_commit=wake.set)
        return cls(settings, engine, vault, content, inbox, wake)


def migrates_itself(settings: Settings) -> bool:
    """True for the embedded SQLite default, which is migrated whenever Adref starts.

    Trying Adref is then one command; any other database is upgraded on purpose, with
    `adref db upgrade`.
    """
    return settings.database_url.startswith("sqlite")


def connect(database_url: str) -> Engine:
    """An engine for database_url that has been seen to connect; ConfigError if not."""
    try:
        engine = make_engine(database_url)
    except (SQLAlchemyError, ImportError) as error:
        # The URL is never repeated: it may hold the database password.
        raise ConfigError(f"DATABASE_URL is not usable: {error}") from error
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        reason = error.orig if isinstance(error, DBAPIError) else error
        raise ConfigError(f"cannot connect to the database in DATABASE_URL: {reason}"
                          ) from error
    return engine
