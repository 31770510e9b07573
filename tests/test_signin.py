"""Signing in: lock-out, the per-address throttle, sessions and their time-outs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import signin
from bot.crypto import Vault
from bot.db import session_scope
from bot.models import AuditEvent, DashboardSession, Practitioner, SignInAttempt
from bot.signin import EXPIRED, FAILED, THROTTLED, Step
from tests.conftest import FrozenClock
from tests.factories import People, Persona

HERE = "192.0.2.10"


def password(engine: Engine, vault: Vault, clock: FrozenClock, who: Persona,
             secret: str | None = None, address: str = HERE) -> Step:
    with session_scope(engine) as session:
        return signin.sign_in(session, vault, who.email, secret or who.password, address,
                              clock.now)


def code(engine: Engine, vault: Vault, clock: FrozenClock, token: str, value: str,
         address: str = HERE) -> Step:
    with session_scope(engine) as session:
        return signin.second_factor(session, vault, token, value, address, clock.now)


def signed_in(engine: Engine, vault: Vault, clock: FrozenClock, who: Persona) -> str:
    """A complete session's token."""
    first = password(engine, vault, clock, who)
    assert first.token
    second = code(engine, vault, clock, first.token, who.code(clock.now))
    assert second.token
    return second.token


def session_of(engine: Engine, token: str, clock: FrozenClock) -> signin.Signed | None:
    with session_scope(engine) as session:
        return signin.find_session(session, token, clock.now)


def practitioner(engine: Engine, who: Persona) -> Practitioner:
    with Session(engine) as session:
        return session.get_one(Practitioner, who.id)


def test_a_right_password_opens_a_pending_session_and_the_code_completes_it(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    first = password(db_engine, vault, clock, people.alice)
    assert first.token and first.refused is None
    pending = session_of(db_engine, first.token, clock)
    assert pending is not None and not pending.complete
    second = code(db_engine, vault, clock, first.token, people.alice.code(clock.now))
    assert second.token and second.token != first.token
    # The token from before the second factor is worth nothing now (session fixation).
    assert session_of(db_engine, first.token, clock) is None
    done = session_of(db_engine, second.token, clock)
    assert done is not None and done.complete and done.practitioner.id == people.alice.id


def test_only_a_hash_of_the_token_is_stored(db_engine: Engine, vault: Vault,
                                            clock: FrozenClock, people: People) -> None:
    token = signed_in(db_engine, vault, clock, people.bob)
    with Session(db_engine) as session:
        stored = session.exec(select(DashboardSession.token_hash)).all()
    assert token not in stored and signin.token_hash(token) in stored


def test_wrong_passwords_and_unknown_emails_are_refused_alike(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    assert password(db_engine, vault, clock, people.alice, "not-alices-password!") == Step(
        refused=FAILED)
    with session_scope(db_engine) as session:
        unknown = signin.sign_in(session, vault, "nobody@council.example", "whatever-it-is",
                                 HERE, clock.now)
    assert unknown == Step(refused=FAILED)


def test_five_failures_lock_the_account_for_fifteen_minutes(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    for _ in range(5):
        assert password(db_engine, vault, clock, people.alice, "wrong-password-x").refused
    locked = practitioner(db_engine, people.alice)
    assert locked.locked_until == clock.now + timedelta(minutes=15)
    # Even the right password is refused while it is locked...
    clock.now += timedelta(minutes=14)
    assert password(db_engine, vault, clock, people.alice).refused == FAILED
    # ...and works once the quarter of an hour has passed.
    clock.now += timedelta(minutes=1, seconds=1)
    assert password(db_engine, vault, clock, people.alice).token
    # Bob, in the same team, was never locked.
    assert practitioner(db_engine, people.bob).locked_until is None


def test_wrong_codes_count_towards_the_lock(db_engine: Engine, vault: Vault,
                                            clock: FrozenClock, people: People) -> None:
    first = password(db_engine, vault, clock, people.charlie)
    assert first.token
    for _ in range(5):
        assert code(db_engine, vault, clock, first.token, "000000").refused == FAILED
    assert practitioner(db_engine, people.charlie).locked_until is not None
    # The right code is no use now either.
    right = people.charlie.code(clock.now)
    assert code(db_engine, vault, clock, first.token, right).refused == FAILED


def test_a_right_password_alone_does_not_reset_the_failure_count(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    # Otherwise someone with the password could guess codes for ever, four at a time.
    for _ in range(4):
        password(db_engine, vault, clock, people.alice, "wrong-password-x")
    assert password(db_engine, vault, clock, people.alice).token
    assert practitioner(db_engine, people.alice).failed_signins == 4


def test_twenty_failures_from_one_address_in_fifteen_minutes_are_refused(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This test counts; it need not spend an Argon2 hash's time on each unknown email.
    monkeypatch.setattr(signin, "waste_a_verification", lambda: None)
    for n in range(20):
        # Guesses at addresses that have no account, so no account locks: this is the
        # address's own limit.
        with session_scope(db_engine) as session:
            guess = signin.sign_in(session, vault, f"guess{n}@council.example",
                                   "wrong-password-x", HERE, clock.now)
        assert guess.refused == FAILED
        clock.now += timedelta(seconds=40)
    assert password(db_engine, vault, clock, people.alice).refused == THROTTLED
    # Another address is heard as usual.
    assert password(db_engine, vault, clock, people.alice, address="198.51.100.7").token
    # Once the first failures are more than fifteen minutes old, the address is heard again.
    clock.now += timedelta(minutes=2)
    assert password(db_engine, vault, clock, people.alice).token


def test_attempts_are_kept_by_a_keyed_hash_of_the_address(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    password(db_engine, vault, clock, people.alice, "wrong-password-x")
    with Session(db_engine) as session:
        keys = session.exec(select(SignInAttempt.key_hash)).all()
    assert keys == [vault.lookup_hash("signin.address", HERE)]


def test_a_session_ends_after_thirty_minutes_idle(db_engine: Engine, vault: Vault,
                                                  clock: FrozenClock, people: People) -> None:
    token = signed_in(db_engine, vault, clock, people.alice)
    clock.now += timedelta(minutes=29)
    assert session_of(db_engine, token, clock) is not None  # and this counts as activity
    clock.now += timedelta(minutes=29)
    assert session_of(db_engine, token, clock) is not None
    clock.now += timedelta(minutes=30, seconds=1)
    assert session_of(db_engine, token, clock) is None
    clock.now += timedelta(seconds=1)
    assert session_of(db_engine, token, clock) is None  # ended, not merely idle


def test_a_session_ends_after_twelve_hours_however_busy(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    token = signed_in(db_engine, vault, clock, people.bob)
    for _ in range(12 * 3):
        assert session_of(db_engine, token, clock) is not None
        clock.now += timedelta(minutes=20)
    clock.now += timedelta(seconds=1)  # twelve hours and a second since signing in
    assert session_of(db_engine, token, clock) is None


def test_a_pending_session_lasts_ten_minutes(db_engine: Engine, vault: Vault,
                                             clock: FrozenClock, people: People) -> None:
    first = password(db_engine, vault, clock, people.alice)
    assert first.token
    clock.now += timedelta(minutes=10, seconds=1)
    late = code(db_engine, vault, clock, first.token, people.alice.code(clock.now))
    assert late.refused == EXPIRED


def test_sign_out_ends_the_session_on_the_server(db_engine: Engine, vault: Vault,
                                                 clock: FrozenClock, people: People) -> None:
    token = signed_in(db_engine, vault, clock, people.charlie)
    with session_scope(db_engine) as session:
        signin.sign_out(session, token, clock.now)
    assert session_of(db_engine, token, clock) is None
    with Session(db_engine) as session:
        actions = session.exec(select(AuditEvent.action)
                               .where(AuditEvent.practitioner_id == people.charlie.id)).all()
    assert actions == ["signin", "signout"]


def test_a_disabled_account_can_neither_sign_in_nor_keep_its_session(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    token = signed_in(db_engine, vault, clock, people.dee)
    with session_scope(db_engine) as session:
        session.get_one(Practitioner, people.dee.id).disabled_at = clock.now
    assert session_of(db_engine, token, clock) is None
    assert password(db_engine, vault, clock, people.dee).refused == FAILED


def test_sessions_past_the_absolute_limit_are_cleared_away_at_a_sign_in(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    signed_in(db_engine, vault, clock, people.alice)
    clock.now += timedelta(hours=12, seconds=1)
    password(db_engine, vault, clock, people.bob)
    with Session(db_engine) as session:
        left = session.exec(select(DashboardSession.practitioner_id)).all()
    assert left == [people.bob.id]
