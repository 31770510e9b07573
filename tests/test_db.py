"""Tests for bot.db."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.crypto import Vault
from bot.db import make_engine, session_scope
from bot.models import Contact

VAULT = Vault(bytes(range(32)))


def new_contact(address: str) -> Contact:
    """A web contact for address, sealed and hashed as the inbox will do it."""
    return Contact(
        channel="web",
        address_hash=VAULT.lookup_hash("web", address),
        address_enc=VAULT.seal(address),
    )


@pytest.mark.sqlite_only
def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_session_scope_commits_at_the_end(db_engine: Engine) -> None:
    with session_scope(db_engine) as session:
        session.add(new_contact("session-a"))
    with session_scope(db_engine) as session:
        assert len(session.exec(select(Contact)).all()) == 1


def test_a_session_scope_rolls_back_when_the_block_raises(db_engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(db_engine) as session:
        session.add(new_contact("session-b"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(db_engine) as session:
        assert session.exec(select(Contact)).all() == []


def test_objects_stay_readable_after_the_scope_commits(db_engine: Engine) -> None:
    with session_scope(db_engine) as session:
        contact = new_contact("session-c")
        session.add(contact)
    assert contact.id is not None
    assert contact.channel == "web"


def test_concurrent_read_then_write_transactions_wait_instead_of_failing(
    db_engine: Engine,
) -> None:
    with session_scope(db_engine) as session:
        session.add(new_contact("counter"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with db_engine.begin() as connection:
                    version = connection.execute(text("SELECT count(*) FROM contact")).scalar()
                    connection.execute(
                        text("UPDATE contact SET role = :role"), {"role": f"r{version}"}
                    )
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_an_in_memory_database_gets_the_same_pragmas() -> None:
    memory = make_engine("sqlite://")
    with memory.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    memory.dispose()
