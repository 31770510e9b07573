"""The outbox and its dispatcher: order, leases, retries, dead letters."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.crypto import Vault
from bot.db import session_scope
from bot.engine import Option, Reply
from bot.models import Contact, OutboxMessage
from bot.outbox import MAX_ATTEMPTS, Dispatcher, Outgoing, TransportError, enqueue
from tests.conftest import FrozenClock, on_postgres


class ScriptedSender:
    """A sender that fails as told, then succeeds, and remembers what it sent."""

    def __init__(self, failures: list[TransportError] | None = None) -> None:
        self.failures = failures or []
        self.sent: list[Outgoing] = []

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, message: Outgoing) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return f"id-{message.id}"


def contact(engine: Engine, vault: Vault, address: str) -> int:
    with session_scope(engine) as session:
        row = Contact(channel="sms", address_hash=vault.lookup_hash("sms", address),
                      address_enc=vault.seal(address))
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def queue(engine: Engine, vault: Vault, clock: FrozenClock, contact_id: int, key: str,
          *texts: str) -> None:
    with session_scope(engine) as session:
        enqueue(session, vault, key=key, contact_id=contact_id, channel="sms",
                recipient=f"+4479111{contact_id:05d}", language="cy",
                replies=[Reply(t, (Option("yes", "Ie"),)) for t in texts], now=clock())


def rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]


MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def dispatcher_for(db_engine: Engine, vault: Vault, clock: FrozenClock) -> MakeDispatcher:
    """Dispatchers on this test's database and clock, sending through a scripted sender."""
    def make(sender: ScriptedSender, batch: int = 50) -> Dispatcher:
        return Dispatcher(db_engine, vault, {"sms": sender}, clock=clock, batch=batch)
    return make


def test_each_chat_gets_its_messages_in_order_one_at_a_time(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    a, b = contact(db_engine, vault, "a"), contact(db_engine, vault, "b")
    queue(db_engine, vault, clock, a, "in:a", "a1", "a2", "a3")
    queue(db_engine, vault, clock, b, "in:b", "b1", "b2")
    sender = ScriptedSender()
    dispatcher = dispatcher_for(sender)
    first = dispatcher.lease()
    assert sorted(m.text for m in first) == ["a1", "b1"]  # only each chat's oldest
    assert dispatcher.lease() == []  # nothing more until those are recorded
    asyncio.run(dispatcher.run_once())  # a1 and b1 still leased: nothing
    for message in first:
        dispatcher._sent(message, f"id-{message.id}")
    for _ in range(3):
        asyncio.run(dispatcher.run_once())
    assert [m.text for m in sender.sent] == ["a2", "b2", "a3"]
    assert all(r.status == "sent" and r.provider_message_id for r in rows(db_engine))


def test_the_same_key_cannot_be_queued_twice(db_engine: Engine, vault: Vault,
                                             clock: FrozenClock) -> None:
    a = contact(db_engine, vault, "a")
    queue(db_engine, vault, clock, a, "in:sms:SM1", "hello")
    with pytest.raises(IntegrityError):
        queue(db_engine, vault, clock, a, "in:sms:SM1", "hello")
    assert len(rows(db_engine)) == 1


def test_two_dispatchers_never_lease_the_same_message(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    for n in range(20):
        queue(db_engine, vault, clock, contact(db_engine, vault, f"c{n}"), f"in:{n}", f"m{n}")
    one, two = dispatcher_for(ScriptedSender(), batch=7), dispatcher_for(ScriptedSender(), 7)
    leased = [m.id for _ in range(3) for d in (one, two) for m in d.lease()]
    assert len(leased) == 20 and len(set(leased)) == 20


def test_transient_errors_wait_with_backoff_then_deliver(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    queue(db_engine, vault, clock, contact(db_engine, vault, "a"), "in:a", "hello")
    sender = ScriptedSender([TransportError("500"), TransportError("timeout"),
                             TransportError("429", retry_after=30)])
    dispatcher = dispatcher_for(sender)
    waits = []
    for _ in range(3):
        asyncio.run(dispatcher.run_once())
        [row] = rows(db_engine)
        assert row.status == "pending"
        waits.append(row.next_attempt_at - clock.now)
        assert asyncio.run(dispatcher.run_once()) == 0  # not due yet
        clock.now = row.next_attempt_at
    assert waits == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=30)]
    asyncio.run(dispatcher.run_once())
    [row] = rows(db_engine)
    assert (row.status, row.attempts, [m.text for m in sender.sent]) == ("sent", 4, ["hello"])


def test_a_permanent_error_is_dead_at_once_and_marks_the_contact(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    a = contact(db_engine, vault, "a")
    queue(db_engine, vault, clock, a, "in:a", "one", "two")
    sender = ScriptedSender([TransportError("21610 opted out", unreachable=True)])
    asyncio.run(dispatcher_for(sender).run_once())
    assert [r.status for r in rows(db_engine)] == ["dead", "dead"]
    assert sender.sent == []
    with Session(db_engine) as session:
        assert session.get(Contact, a).opted_out_at is not None  # type: ignore[union-attr]


def test_a_message_that_keeps_failing_is_dead_after_the_last_attempt(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    queue(db_engine, vault, clock, contact(db_engine, vault, "a"), "in:a", "hello")
    dispatcher = dispatcher_for(ScriptedSender([TransportError("500")] * MAX_ATTEMPTS))
    for _ in range(MAX_ATTEMPTS):
        asyncio.run(dispatcher.run_once())
        clock.now += timedelta(minutes=11)
    [row] = rows(db_engine)
    assert (row.status, row.attempts) == ("dead", MAX_ATTEMPTS)


def test_a_dispatcher_killed_mid_send_is_recovered_when_its_lease_expires(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    queue(db_engine, vault, clock, contact(db_engine, vault, "a"), "in:a", "hello", "again")
    dead = dispatcher_for(ScriptedSender())
    assert [m.text for m in dead.lease()] == ["hello"]  # ...and then the process dies
    survivor_sender = ScriptedSender()
    survivor = dispatcher_for(survivor_sender)
    assert asyncio.run(survivor.run_once()) == 0  # the lease still holds
    clock.now += timedelta(seconds=61)
    asyncio.run(survivor.run_once())
    asyncio.run(survivor.run_once())
    assert [m.text for m in survivor_sender.sent] == ["hello", "again"]


def test_nothing_written_after_an_opt_out_is_sent(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    a = contact(db_engine, vault, "a")
    with session_scope(db_engine) as session:
        row = session.get(Contact, a)
        assert row is not None
        row.opted_out_at = clock.now
        session.add(row)
    queue(db_engine, vault, clock, a, "in:ack", "You won't get more messages.")
    clock.now += timedelta(seconds=5)
    queue(db_engine, vault, clock, a, "worker:1", "A message from your worker")
    sender = ScriptedSender()
    for _ in range(2):
        asyncio.run(dispatcher_for(sender).run_once())
    assert [m.text for m in sender.sent] == ["You won't get more messages."]


def test_dispatchers_on_threads_of_their_own_send_each_message_once_and_in_order(
    db_engine: Engine, vault: Vault, clock: FrozenClock, dispatcher_for: MakeDispatcher
) -> None:
    chats, per_chat = 12, 4
    expected = {n: [f"c{n} m{k}" for k in range(per_chat)] for n in range(chats)}
    for n, texts in expected.items():
        queue(db_engine, vault, clock, contact(db_engine, vault, f"c{n}"), f"in:{n}", *texts)
    sender = ScriptedSender()  # shared, so its list is the order messages went out in
    dispatchers = [dispatcher_for(sender, batch=5) for _ in range(4)]
    barrier = threading.Barrier(len(dispatchers))

    def send_until_done(dispatcher: Dispatcher) -> None:
        barrier.wait()
        deadline = time.monotonic() + 30
        while len(sender.sent) < chats * per_chat and time.monotonic() < deadline:
            asyncio.run(dispatcher.run_once())

    threads = [threading.Thread(target=send_until_done, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    sent = [m.text for m in sender.sent]
    assert Counter(sent) == Counter(t for texts in expected.values() for t in texts)
    for n, texts in expected.items():
        assert [t for t in sent if t.startswith(f"c{n} ")] == texts
    assert {r.status for r in rows(db_engine)} == {"sent"}


@pytest.mark.skipif(not on_postgres(), reason="SQLite has no row locks to skip")
def test_a_dispatcher_passes_over_rows_another_is_leasing_instead_of_waiting(
    db_engine: Engine, vault: Vault, clock: FrozenClock, database_url: str
) -> None:
    for n in range(3):
        queue(db_engine, vault, clock, contact(db_engine, vault, f"c{n}"), f"in:{n}", f"m{n}")
    # Were the rows not skipped, this dispatcher would fail after 2 s instead of waiting.
    impatient = create_engine(database_url, connect_args={"options": "-c lock_timeout=2s"})
    dispatcher = Dispatcher(impatient, vault, {"sms": ScriptedSender()}, clock=clock)
    try:
        with Session(db_engine) as other:  # another dispatcher, in the middle of its lease
            first = rows(db_engine)[0].id
            other.exec(select(OutboxMessage.id).where(OutboxMessage.id == first)
                       .with_for_update()).all()
            assert [m.text for m in dispatcher.lease()] == ["m1", "m2"]
        assert [m.text for m in dispatcher.lease()] == ["m0"]  # its lock is gone
    finally:
        impatient.dispose()
