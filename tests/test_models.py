"""Tests for bot.models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from bot.clock import utcnow
from bot.crypto import Vault
from bot.db import session_scope
from bot.models import (
    Contact,
    Conversation,
    InboundEvent,
    RequestEvent,
    RhiRequest,
)

VAULT = Vault(bytes(range(32)))


def add_contact(engine: Engine, address: str = "chat-1") -> int:
    """Store a web contact and return its id."""
    with session_scope(engine) as session:
        contact = Contact(
            channel="web",
            address_hash=VAULT.lookup_hash("web", address),
            address_enc=VAULT.seal(address),
        )
        session.add(contact)
        session.flush()
        assert contact.id is not None
        return contact.id


def new_request(contact_id: int | None, reference: str = "K7PM-4XQ2") -> RhiRequest:
    """A queued request from contact_id, due in three days."""
    return RhiRequest(
        reference=reference,
        contact_id=contact_id,
        language="cy",
        channel="web",
        area="cardiff",
        returned_band="yesterday",
        due_at=utcnow() + timedelta(hours=48),
        in_care="home",
        contact_method="text",
        contact_time="evening",
        welsh_worker=True,
    )


def test_times_come_back_as_aware_utc(db_engine: Engine) -> None:
    contact_id = add_contact(db_engine)
    cardiff_summer = datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    with session_scope(db_engine) as session:
        contact = session.get_one(Contact, contact_id)
        contact.opted_out_at = cardiff_summer
    with session_scope(db_engine) as session:
        stored = session.get_one(Contact, contact_id)
        assert stored.opted_out_at == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
        assert stored.opted_out_at is not None and stored.opted_out_at.tzinfo is UTC
        assert stored.created_at.tzinfo is UTC


def test_a_naive_time_is_refused(db_engine: Engine) -> None:
    contact_id = add_contact(db_engine)
    with pytest.raises(StatementError, match="naive datetime"), session_scope(db_engine) as session:
        session.get_one(Contact, contact_id).opted_out_at = datetime(2026, 7, 1, 9, 30)


def test_a_redelivered_event_breaks_the_unique_provider_id(db_engine: Engine) -> None:
    with session_scope(db_engine) as session:
        session.add(InboundEvent(channel="telegram", provider_id="update-1"))
    with pytest.raises(IntegrityError), session_scope(db_engine) as session:
        session.add(InboundEvent(channel="telegram", provider_id="update-1"))
    with session_scope(db_engine) as session:
        session.add(InboundEvent(channel="sms", provider_id="update-1"))


def test_the_same_address_cannot_make_two_contacts(db_engine: Engine) -> None:
    add_contact(db_engine, "twice")
    with pytest.raises(IntegrityError):
        add_contact(db_engine, "twice")


def test_an_unknown_status_is_refused(db_engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(db_engine) as session:
        request = new_request(None)
        request.status = "lost"
        session.add(request)


def test_deleting_a_contact_keeps_its_request_but_forgets_who_made_it(db_engine: Engine) -> None:
    contact_id = add_contact(db_engine)
    with session_scope(db_engine) as session:
        session.add(Conversation(contact_id=contact_id, state_enc=VAULT.seal("{}")))
        request = new_request(contact_id)
        session.add(request)
        session.flush()
        assert request.id is not None
        session.add(RequestEvent(request_id=request.id, kind="created", actor="young_person"))
        session.add(InboundEvent(channel="web", provider_id="m1", contact_id=contact_id))
    with session_scope(db_engine) as session:
        session.delete(session.get_one(Contact, contact_id))
    with session_scope(db_engine) as session:
        assert session.exec(select(Conversation)).all() == []
        assert session.exec(select(RhiRequest)).one().contact_id is None
        assert session.exec(select(InboundEvent)).one().contact_id is None
        assert len(session.exec(select(RequestEvent)).all()) == 1
