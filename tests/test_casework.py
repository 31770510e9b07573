"""Claiming, releasing, reassigning and routing requests, as the personas would."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.casework import Actor, ClaimResult, NotVisible, claim, find, reassign, release, route
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.models import Practitioner, RequestEvent, RhiRequest
from tests.factories import make_people

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
CARDIFF = frozenset({"cardiff", "vale_of_glamorgan"})


@pytest.fixture
def actors(db_engine: Engine, content: Content, vault: Vault) -> tuple[Actor, Actor, Actor]:
    """Alice and Bob (manager) in the Cardiff team, Charlie in Gwynedd, as casework sees them."""
    people = make_people(db_engine, content, vault)
    return (Actor(people.alice.id, "practitioner", CARDIFF),
            Actor(people.bob.id, "manager", CARDIFF),
            Actor(people.charlie.id, "practitioner", frozenset({"gwynedd", "anglesey"})))


def request(engine: Engine, reference: str, area: str | None) -> None:
    with session_scope(engine) as session:
        session.add(RhiRequest(
            reference=reference, language="cy", channel="sms", area=area,
            returned_band="today", returned_at=NOW, due_at=NOW + timedelta(hours=72),
            in_care="care", contact_method="text", contact_time="any", welsh_worker=True,
            created_at=NOW))


def status(engine: Engine, reference: str) -> tuple[str, int | None]:
    with Session(engine) as session:
        row = session.exec(select(RhiRequest).where(RhiRequest.reference == reference)).one()
        return row.status, row.claimed_by


def test_a_practitioner_of_another_area_cannot_see_or_claim_a_request(
    db_engine: Engine, actors: tuple[Actor, Actor, Actor]
) -> None:
    ALICE, _, CHARLIE = actors
    request(db_engine, "CARD-0001", "cardiff")
    with session_scope(db_engine) as session:
        assert find(session, ALICE, "CARD-0001").area == "cardiff"
        with pytest.raises(NotVisible):
            find(session, CHARLIE, "CARD-0001")
        with pytest.raises(NotVisible):
            claim(session, CHARLIE, "CARD-0001", NOW)
        with pytest.raises(NotVisible):
            find(session, ALICE, "NONE-0000")  # no such request: the same answer
    assert status(db_engine, "CARD-0001") == ("queued", None)


def test_a_request_with_no_known_area_goes_to_managers_for_routing(
    db_engine: Engine, actors: tuple[Actor, Actor, Actor]
) -> None:
    ALICE, BOB, CHARLIE = actors
    request(db_engine, "UNSR-0001", None)
    with session_scope(db_engine) as session:
        with pytest.raises(NotVisible):
            find(session, ALICE, "UNSR-0001")
        assert route(session, BOB, "UNSR-0001", "gwynedd", NOW)
    with session_scope(db_engine) as session:
        assert find(session, CHARLIE, "UNSR-0001").area == "gwynedd"
        kinds = session.exec(select(RequestEvent.kind)).all()
    assert kinds == ["routed"]


def test_claim_release_and_reassign_leave_a_timeline(
    db_engine: Engine, actors: tuple[Actor, Actor, Actor]
) -> None:
    ALICE, BOB, CHARLIE = actors
    request(db_engine, "CARD-0002", "cardiff")
    with session_scope(db_engine) as session:
        assert claim(session, ALICE, "CARD-0002", NOW).claimed
        assert claim(session, BOB, "CARD-0002", NOW).holder == ALICE.id  # told who has it
        assert release(session, ALICE, "CARD-0002", NOW)
        assert not release(session, ALICE, "CARD-0002", NOW)  # nothing held to release
        assert not reassign(session, ALICE, "CARD-0002", BOB, NOW)  # managers only
        assert not reassign(session, BOB, "CARD-0002", CHARLIE, NOW)  # not Charlie's area
        assert reassign(session, BOB, "CARD-0002", ALICE, NOW)
    assert status(db_engine, "CARD-0002") == ("claimed", ALICE.id)
    with Session(db_engine) as session:
        events = session.exec(select(RequestEvent).order_by(RequestEvent.id)).all()  # type: ignore[arg-type]
    assert [e.kind for e in events] == ["claimed", "released", "reassigned"]
    assert all(e.actor.startswith("practitioner:") for e in events)


def test_twenty_practitioners_claiming_at_once_exactly_one_wins(
    db_engine: Engine, actors: tuple[Actor, Actor, Actor]
) -> None:
    request(db_engine, "RACE-0001", "cardiff")
    with session_scope(db_engine) as session:
        team = session.get(Practitioner, actors[0].id).team_id  # type: ignore[union-attr]
        rows = [Practitioner(name=f"P{n}", email=f"p{n}@council.example", password_hash="x",
                             role="practitioner", team_id=team) for n in range(20)]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    barrier = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def try_claim(n: int) -> None:
        actor = Actor(ids[n] or 0, "practitioner", frozenset({"cardiff"}))
        barrier.wait()
        with session_scope(db_engine) as session:
            won = claim(session, actor, "RACE-0001", NOW).claimed
        with lock:
            results.append(won)

    threads = [threading.Thread(target=try_claim, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 19 + [True]
    with Session(db_engine) as session:
        assert len(session.exec(select(RequestEvent)).all()) == 1


def test_a_claim_made_while_another_is_committing_is_told_who_won(
    db_engine: Engine, actors: tuple[Actor, Actor, Actor]
) -> None:
    ALICE, BOB, _ = actors
    request(db_engine, "RACE-0002", "cardiff")
    alice_claimed = threading.Event()

    def alice_claims_and_takes_her_time() -> None:
        with session_scope(db_engine) as session:
            assert claim(session, ALICE, "RACE-0002", NOW).claimed
            alice_claimed.set()
            time.sleep(0.5)  # her transaction is still open while Bob claims

    alice = threading.Thread(target=alice_claims_and_takes_her_time)
    alice.start()
    try:
        assert alice_claimed.wait(10)
        # Bob's own connection: on PostgreSQL his read skips the row Alice has locked,
        # then waits for her commit to learn who has it; on SQLite he waits for the
        # write lock. Either way, he can only name her once her claim is committed.
        with session_scope(db_engine) as session:
            bobs = claim(session, BOB, "RACE-0002", NOW)
    finally:
        alice.join(10)
    assert bobs == ClaimResult(False, ALICE.id)
    assert status(db_engine, "RACE-0002") == ("claimed", ALICE.id)
