"""The audit trail (bot/audit.py): written in one place, never changed, never personal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.sql import Executable
from sqlmodel import Session, col, select

from bot import audit
from bot.db import session_scope
from bot.models import AuditEvent
from tests.conftest import FrozenClock
from tests.factories import People

ROOT = Path(__file__).resolve().parent.parent


def rows(engine: Engine) -> list[tuple[object, ...]]:
    with Session(engine) as session:
        return [(e.id, e.at, e.practitioner_id, e.action, e.request_id, e.detail)
                for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()]


def test_a_record_is_kept_with_its_detail_as_json(db_engine: Engine, people: People,
                                                  clock: FrozenClock) -> None:
    with session_scope(db_engine) as session:
        audit.record(session, people.alice.id, "request.viewed", 42, at=clock.now,
                     area="cardiff", reference="K7PM-4XQ2", urgent=True)
    with Session(db_engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "request.viewed")
                             ).one()
    assert (event.practitioner_id, event.request_id, event.at) == (people.alice.id, 42,
                                                                   clock.now)
    assert json.loads(event.detail) == {"area": "cardiff", "reference": "K7PM-4XQ2",
                                        "urgent": True}


@pytest.mark.parametrize("detail", [{"email": "alice@council.example"},
                                    {"note": "she said she was scared"},
                                    {"phone": "+44 7911 123456"}])
def test_free_text_and_addresses_are_refused_in_the_detail(
    db_engine: Engine, detail: dict[str, str]
) -> None:
    with session_scope(db_engine) as session, pytest.raises(ValueError):
        audit.record(session, None, "request.viewed", None, **detail)  # type: ignore[arg-type]


def test_a_record_is_kept_only_if_its_transaction_commits(db_engine: Engine) -> None:
    before = rows(db_engine)
    with pytest.raises(RuntimeError), session_scope(db_engine) as session:
        audit.record(session, None, "team.created", team=1)
        raise RuntimeError("the change it describes failed")
    assert rows(db_engine) == before


@pytest.mark.parametrize("statement", [
    update(AuditEvent).values(action="nothing.happened"),
    update(AuditEvent).values(practitioner_id=None),
    delete(AuditEvent),
], ids=["update action", "update who", "delete"])
def test_the_database_refuses_to_change_or_remove_a_record(
    db_engine: Engine, people: People, statement: Executable
) -> None:
    with session_scope(db_engine) as session:
        audit.record(session, people.bob.id, "signin")
    before = rows(db_engine)
    assert before
    with pytest.raises(DatabaseError, match="append-only"), session_scope(db_engine) as session:
        session.execute(statement)
    with pytest.raises(DatabaseError, match="append-only"), db_engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_event"))
    assert rows(db_engine) == before


def test_no_module_but_bot_audit_writes_audit_rows() -> None:
    # The one writer: anything else that makes, changes or removes AuditEvent rows (or
    # their table) is a bug, whatever the database would allow.
    writes = re.compile(r"AuditEvent\(|(update|delete|insert)\(\s*AuditEvent|audit_event")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "webhooks")
        for path in (ROOT / folder).rglob("*.py")
        if path.relative_to(ROOT).as_posix() not in {"bot/audit.py", "bot/models.py"}
        and writes.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
