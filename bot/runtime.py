"""The running service's parts, built once from Settings and passed to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings
from bot.content import Content, load
from bot.crypto import Vault
from bot.db import make_engine, upgrade
from bot.inbox import Inbox


@dataclass(frozen=True)
class Runtime:
    """Settings, database engine, vault, content and inbox: one of each per process."""

    settings: Settings
    engine: Engine
    vault: Vault
    content: Content
    inbox: Inbox

    @classmethod
    def start(cls, settings: Settings, *, migrate: bool = False) -> Runtime:
        """Load content, connect to the database (migrating it first if asked)."""
        content = load(settings.content_dir)
        engine = make_engine(settings.database_url)
        if migrate:
            upgrade(engine)
        vault = Vault(settings.data_key)
        inbox = Inbox(engine, vault, content, settings.rhi_target_hours)
        return cls(settings, engine, vault, content, inbox)
