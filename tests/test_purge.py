"""Retention (bot/purge.py, `adref purge`, and the dispatcher's hourly run)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, func, select

from bot import casework, purge
from bot.casework import Actor
from bot.cli import main
from bot.config import ConfigError, Settings
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.engine import Reply, State
from bot.inbox import Inbox
from bot.models import (
    AuditEvent,
    ConsentRecord,
    Contact,
    Conversation,
    InboundEvent,
    OutboxMessage,
    RequestEvent,
    RhiRequest,
)
from bot.outbox import enqueue
from bot.purge import Purged, forgotten
from bot.queue import Filters, page
from bot.reports import month_bounds, monthly
from bot.runtime import PUSH_CHANNELS, Runtime
from bot.worker import Background
from tests.conftest import TEST_DATA_KEY, FrozenClock
from tests.dialog import said, send
from tests.factories import People, ask_for_interview, seed_november
from tests.process import ok

DAYS = 30
SMS_NUMBER = "+447911123456"
CARER_NUMBER = "+447700900456"
TELEGRAM_CHAT = "4242"
NOTE = "I want to talk about school"
OUTCOME_NOTE = "Met at school; the worry is the walk home"
EVERYONE = Actor(id=0, role="admin", areas=frozenset())


@pytest.fixture
def service(db_engine: Engine, content: Content, vault: Vault, clock: FrozenClock) -> Inbox:
    """The inbox as the service runs it: Telegram and SMS replies go to the outbox."""
    return Inbox(db_engine, vault, content, target_hours=72, clock=clock, push=PUSH_CHANNELS)


def run(engine: Engine, clock: FrozenClock, *, dry_run: bool = False) -> Purged:
    return purge.purge(engine, Vault(TEST_DATA_KEY), clock(), DAYS, dry_run=dry_run)


def closed_request(service: Inbox, people: People, clock: FrozenClock) -> str:
    """A young person asks by SMS with a note; Alice closes it with a note of her own."""
    reference = ask_for_interview(service, note=NOTE)
    alice = Actor(people.alice.id, "practitioner", frozenset({"cardiff", "vale_of_glamorgan"}))
    with session_scope(service.engine) as session:
        assert casework.claim(session, alice, reference, clock()).claimed
        assert casework.record_outcome(session, service.vault, alice, reference, "completed",
                                       clock(), note=OUTCOME_NOTE)
    return reference


def carer_sheet(engine: Engine, vault: Vault, clock: FrozenClock) -> None:
    """A sheet texted to a parent, sent (there is no contact row for a carer)."""
    with session_scope(engine) as session:
        enqueue(session, vault, key="carer:abc", contact_id=None, channel="sms",
                recipient=CARER_NUMBER, language="en", replies=[Reply("The sheet: ...")],
                now=clock())
        session.flush()
        for row in session.exec(select(OutboxMessage)
                                .where(col(OutboxMessage.contact_id).is_(None))):
            row.status, row.sent_at = "sent", clock()
            session.add(row)


def count(engine: Engine, model: type, *where: ColumnElement[bool]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def texts(engine: Engine) -> int:
    return count(engine, InboundEvent, col(InboundEvent.text_enc).is_not(None))


def test_a_day_before_the_limit_nothing_goes_and_at_the_limit_it_does(
    service: Inbox, people: People, clock: FrozenClock, db_engine: Engine, vault: Vault
) -> None:
    reference = closed_request(service, people, clock)  # closed now, at the last message
    send(service, "/start", address=TELEGRAM_CHAT, channel="telegram")  # no request
    carer_sheet(db_engine, vault, clock)
    start = clock()
    stored = (texts(db_engine), count(db_engine, OutboxMessage), count(db_engine, Contact))

    clock.now = start + timedelta(days=DAYS - 1)
    assert run(db_engine, clock) == Purged()
    assert (texts(db_engine), count(db_engine, OutboxMessage),
            count(db_engine, Contact)) == stored

    clock.now = start + timedelta(days=DAYS)
    done = run(db_engine, clock)
    assert done == Purged(message_texts=stored[0], outbox_messages=stored[1],
                          request_details=1, contacts=2, conversations=0)
    assert (texts(db_engine), count(db_engine, OutboxMessage), count(db_engine, Contact),
            count(db_engine, Conversation)) == (0, 0, 0, 0)
    with Session(db_engine) as session:
        request = session.exec(select(RhiRequest)).one()
        events = session.exec(select(RequestEvent)).all()
        consents = session.exec(select(ConsentRecord)).all()
    # What the young person wrote for the worker, and their number, are gone...
    assert (request.note_enc, request.contact_phone_enc, request.contact_id) == (None, None, None)
    # ...the practitioner's safeguarding record and the figures stay.
    assert request.reference == reference and vault.open(request.outcome_note_enc or b"") == (
        OUTCOME_NOTE)
    assert (request.status, request.outcome, request.area) == ("closed", "completed", "cardiff")
    assert request.closed_at == start and request.claimed_by == people.alice.id
    assert [e.kind for e in events] == ["created", "claimed", "outcome"]
    assert [c.granted for c in consents] == [True] and consents[0].request_id == request.id
    assert count(db_engine, InboundEvent) == stored[0]  # the rows stay, for redeliveries

    assert run(db_engine, clock) == Purged()  # and again: nothing more to do


def test_an_open_request_keeps_its_conversation_however_long_it_waits(
    service: Inbox, clock: FrozenClock, db_engine: Engine
) -> None:
    reference = ask_for_interview(service, note=NOTE)
    send(service, "1", address=SMS_NUMBER, channel="sms")  # then reads the sheet, and stops
    stored = (texts(db_engine), count(db_engine, OutboxMessage))
    clock.now += timedelta(days=400)
    done = run(db_engine, clock)
    # Only where the quiet conversation had got to is forgotten; the worker can still read
    # every message and reach the young person.
    assert done == Purged(conversations=1)
    assert (texts(db_engine), count(db_engine, OutboxMessage)) == stored
    with Session(db_engine) as session:
        request = session.exec(select(RhiRequest)).one()
    assert request.note_enc is not None
    # Writing again, they are known, in Welsh, at their menu, and their request is found.
    reply = said(send(service, "STATUS", address=SMS_NUMBER, channel="sms"))
    assert reference in reply and "Dy gais" in reply
    assert count(db_engine, Contact) == 1


def test_a_withdrawn_request_counts_from_its_withdrawal(
    service: Inbox, clock: FrozenClock, db_engine: Engine
) -> None:
    ask_for_interview(service)
    clock.now += timedelta(days=10)
    send(service, "WITHDRAW", address=SMS_NUMBER, channel="sms")
    send(service, "ie", address=SMS_NUMBER, channel="sms")
    with Session(db_engine) as session:
        request = session.exec(select(RhiRequest)).one()
    assert request.status == "withdrawn" and request.withdrawn_at == clock.now
    withdrawn = clock.now
    clock.now = withdrawn + timedelta(days=DAYS) - timedelta(seconds=1)
    assert run(db_engine, clock).contacts == 0
    clock.now = withdrawn + timedelta(days=DAYS)
    assert run(db_engine, clock).contacts == 1


def test_messages_written_after_the_request_closed_wait_their_own_days(
    service: Inbox, people: People, clock: FrozenClock, db_engine: Engine
) -> None:
    closed_request(service, people, clock)
    start = clock()
    clock.now = start + timedelta(days=20)
    send(service, "diolch", address=SMS_NUMBER, channel="sms")
    clock.now = start + timedelta(days=DAYS)
    done = run(db_engine, clock)
    # The older messages and the request's details go; the contact, last seen 10 days
    # ago, and that message stay.
    assert done.request_details == 1 and done.contacts == 0
    assert texts(db_engine) == 1


def test_someone_who_said_stop_is_remembered_but_what_they_wrote_goes(
    service: Inbox, clock: FrozenClock, db_engine: Engine
) -> None:
    for typed in ("/start", "English", "STOP"):
        send(service, typed, address=TELEGRAM_CHAT, channel="telegram")
    clock.now += timedelta(days=DAYS)
    done = run(db_engine, clock)
    assert done.contacts == 0 and done.message_texts == 3 and texts(db_engine) == 0
    with Session(db_engine) as session:
        contact = session.exec(select(Contact)).one()
    # The keyed hash and the time they said STOP: how Adref knows to stay silent.
    assert contact.opted_out_at is not None
    assert said(send(service, "hello?", address=TELEGRAM_CHAT, channel="telegram")) == ""
    assert count(db_engine, Contact) == 1


def test_a_message_being_sent_is_never_deleted(
    service: Inbox, clock: FrozenClock, db_engine: Engine, vault: Vault
) -> None:
    carer_sheet(db_engine, vault, clock)
    with session_scope(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        row.status = "sending"
        session.add(row)
    clock.now += timedelta(days=DAYS)
    assert run(db_engine, clock).outbox_messages == 0


def test_the_reports_and_the_queue_are_the_same_before_and_after_a_purge(
    db_engine: Engine, clock: FrozenClock, vault: Vault
) -> None:
    seed_november(db_engine)
    with session_scope(db_engine) as session:
        # Give each seeded request a young person, a note and a number, as the bot would.
        for n, request in enumerate(session.exec(select(RhiRequest)).all()):
            contact = Contact(channel="sms", address_hash=f"{n:064x}",
                              address_enc=vault.seal(f"+4479111234{n:02d}"),
                              created_at=request.created_at, last_seen_at=request.created_at)
            session.add(contact)
            session.flush()
            request.contact_id = contact.id
            request.note_enc, request.contact_phone_enc = vault.seal(NOTE), vault.seal("x")
            session.add(request)
    clock.now = datetime(2027, 3, 1, tzinfo=UTC)

    def figures() -> tuple[object, ...]:
        with Session(db_engine) as session:
            return (
                monthly(session, None, *month_bounds(2026, 11), 72, unsure=True),
                monthly(session, None, *month_bounds(2026, 10), 72, unsure=True),
                page(session, EVERYONE, Filters(status="all"), clock(), limit=100),
            )

    before = figures()
    done = run(db_engine, clock)
    assert done.request_details > 0 and done.contacts > 0
    assert figures() == before


def test_a_dry_run_counts_what_a_purge_removes_and_changes_nothing(
    service: Inbox, people: People, clock: FrozenClock, db_engine: Engine, vault: Vault
) -> None:
    closed_request(service, people, clock)
    ask_for_interview(service, channel="telegram", address=TELEGRAM_CHAT)  # stays open
    send(service, "1", address=TELEGRAM_CHAT, channel="telegram")  # the sheet, then quiet
    carer_sheet(db_engine, vault, clock)
    clock.now += timedelta(days=DAYS)
    stored = (texts(db_engine), count(db_engine, OutboxMessage), count(db_engine, Contact))
    dry = run(db_engine, clock, dry_run=True)
    assert dry.total > 0 and dry.conversations == 1
    assert (texts(db_engine), count(db_engine, OutboxMessage),
            count(db_engine, Contact)) == stored
    assert count(db_engine, AuditEvent, col(AuditEvent.action) == "data.purged") == 0
    assert run(db_engine, clock) == dry


def test_a_purge_is_recorded_in_the_audit_trail_as_counts(
    service: Inbox, people: People, clock: FrozenClock, db_engine: Engine
) -> None:
    closed_request(service, people, clock)
    clock.now += timedelta(days=DAYS)
    done = run(db_engine, clock)
    with Session(db_engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "data.purged"))
    assert json.loads(event.detail) == {**done.counts(), "retention_days": DAYS}
    assert event.practitioner_id is None and event.at == clock()


@pytest.mark.postgres_only
def test_on_postgresql_a_purge_leaves_it_to_the_process_already_purging(
    service: Inbox, people: People, clock: FrozenClock, db_engine: Engine
) -> None:
    closed_request(service, people, clock)
    clock.now += timedelta(days=DAYS)
    with purge.only_one(db_engine) as won:
        assert won
        with pytest.raises(purge.AlreadyRunning):
            run(db_engine, clock)
        assert texts(db_engine) > 0  # left for the one holding the lock
    assert run(db_engine, clock).total > 0  # once it is done, the next one may


def test_purges_at_once_count_nothing_twice_and_leave_nothing(
    service: Inbox, people: People, clock: FrozenClock, db_engine: Engine
) -> None:
    closed_request(service, people, clock)
    clock.now += timedelta(days=DAYS)
    expected = run(db_engine, clock, dry_run=True)
    results: list[Purged] = []

    def another() -> None:
        with contextlib.suppress(purge.AlreadyRunning):  # on PostgreSQL: one at a time
            results.append(run(db_engine, clock))

    threads = [threading.Thread(target=another) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results and sum(r.total for r in results) == expected.total
    assert run(db_engine, clock) == Purged()
    assert texts(db_engine) == 0 and count(db_engine, Contact) == 0


def test_forgetting_a_conversation_keeps_its_language_role_stop_and_urgency() -> None:
    state = State(node="rhi_note", lang="cy", role="young_person", sheet="children",
                  answers=(("phone", "07911123456"), ("note", NOTE)), opted_out=True,
                  urgent=True)
    kept = forgotten(state)
    assert kept == State(node="yp_menu", lang="cy", role="young_person", opted_out=True,
                         urgent=True)
    assert forgotten(kept) == kept
    assert forgotten(State()) == State()


def test_the_dispatcher_purges_on_its_schedule_and_stops_at_once(
    settings: Settings, db_engine: Engine, content: Content, vault: Vault, inbox: Inbox,
    people: People, clock: FrozenClock
) -> None:
    closed_request(inbox, people, clock)
    clock.now += timedelta(days=DAYS)
    background = Background(Runtime(settings, db_engine, vault, content, inbox), poll=0.05,
                            purge_times=(0.01, 3600))
    background.start()
    try:
        deadline = time.monotonic() + 20
        while count(db_engine, Contact) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stopping = time.monotonic()
        background.stop()
    assert not background.thread.is_alive() and time.monotonic() - stopping < 5
    assert count(db_engine, Contact) == 0 and texts(db_engine) == 0


# The command and the setting.


def test_adref_purge_prints_counts_per_kind_and_nothing_personal(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, service: Inbox, people: People,
    clock: FrozenClock, db_engine: Engine
) -> None:
    monkeypatch.setenv("ADREF_DATA_KEY", base64.urlsafe_b64encode(TEST_DATA_KEY).decode())
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    clock.now = datetime(2026, 1, 5, 12, tzinfo=UTC)  # well before the real time
    closed_request(service, people, clock)
    dry = ok(runner.invoke(main, ["purge", "--dry-run"]))
    assert dry.startswith("Would remove (kept 30 days")
    assert count(db_engine, Contact) == 1
    output = ok(runner.invoke(main, ["purge"]))
    assert output.startswith("Removed (kept 30 days") and output[len("Removed"):] == dry[
        len("Would remove"):]
    assert "request notes and phone numbers" in output
    assert count(db_engine, Contact) == 0
    for personal in (NOTE, OUTCOME_NOTE, "7911", "school"):
        assert personal not in output
    monkeypatch.setenv("RETENTION_DAYS", "400")
    assert "kept 400 days" in ok(runner.invoke(main, ["purge", "--dry-run"]))


def test_help_explains_purge_and_its_option(runner: CliRunner) -> None:
    output = ok(runner.invoke(main, ["purge", "--help"], prog_name="adref"))
    assert output.startswith("Usage: adref purge ")
    assert "RETENTION_DAYS" in output and "--dry-run" in output


def test_retention_days_defaults_to_30_and_must_be_a_positive_whole_number(
    tmp_path: Path,
) -> None:
    assert Settings.from_env({}, tmp_path).retention_days == 30
    assert Settings.from_env({"RETENTION_DAYS": "90"}, tmp_path).retention_days == 90
    for bad, message in (("0", "positive"), ("-1", "positive"), ("a month", "whole number")):
        with pytest.raises(ConfigError, match=f"RETENTION_DAYS must be a {message}"):
            Settings.from_env({"RETENTION_DAYS": bad}, tmp_path)
