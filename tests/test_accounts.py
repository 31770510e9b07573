"""Teams, accounts, password hashing and the second factor (bot/accounts.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import accounts
from bot.accounts import AccountError
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.models import AuditEvent, Practitioner, Team
from tests.conftest import FrozenClock
from tests.factories import People

GOOD_PASSWORD = "a long and unusual passphrase"


def add_team(engine: Engine, content: Content, name: str = "Cardiff",
             areas: tuple[str, ...] = ("cardiff",)) -> Team:
    with session_scope(engine) as session:
        return accounts.create_team(session, content, name, areas)


def add_practitioner(engine: Engine, team: Team | None, email: str = "Erin@Council.Example",
                     password: str = GOOD_PASSWORD, role: str = "practitioner") -> Practitioner:
    with session_scope(engine) as session:
        return accounts.create_practitioner(session, name="Erin", email=email,
                                            password=password, role=role, team=team)


def test_a_team_keeps_its_areas_in_order(db_engine: Engine, content: Content) -> None:
    team = add_team(db_engine, content, "  Cardiff  and the Vale ",
                    ("cardiff", "vale_of_glamorgan", "cardiff"))
    assert team.name == "Cardiff and the Vale"
    assert team.area_codes == ("cardiff", "vale_of_glamorgan")
    assert json.loads(team.areas) == ["cardiff", "vale_of_glamorgan"]


def test_an_unknown_area_is_refused_with_the_valid_codes(db_engine: Engine,
                                                         content: Content) -> None:
    with pytest.raises(AccountError) as error:
        add_team(db_engine, content, areas=("cardif",))
    assert "unknown area cardif" in str(error.value)
    assert "vale_of_glamorgan" in str(error.value) and "anglesey" in str(error.value)


def test_team_names_are_unique(db_engine: Engine, content: Content) -> None:
    add_team(db_engine, content)
    with pytest.raises(AccountError, match="already a team"):
        add_team(db_engine, content)


def test_emails_are_stored_lower_case_and_are_unique(db_engine: Engine,
                                                     content: Content) -> None:
    team = add_team(db_engine, content)
    made = add_practitioner(db_engine, team)
    assert made.email == "erin@council.example"
    with pytest.raises(AccountError, match="already an account"):
        add_practitioner(db_engine, team, email=" ERIN@council.example ")


@pytest.mark.parametrize("password", ["short-pass", "password1234", "Qwertyuiop12",
                                      "aaaaaaaaaaaaaaaa", "x" * 2000])
def test_weak_passwords_are_refused(db_engine: Engine, content: Content,
                                    password: str) -> None:
    team = add_team(db_engine, content)
    with pytest.raises(AccountError):
        add_practitioner(db_engine, team, password=password)


def test_only_an_admin_may_have_no_team(db_engine: Engine) -> None:
    with pytest.raises(AccountError, match="belong to a team"):
        add_practitioner(db_engine, None)
    assert add_practitioner(db_engine, None, role="admin").team_id is None


def test_passwords_are_stored_as_argon2id_hashes(db_engine: Engine, content: Content) -> None:
    made = add_practitioner(db_engine, add_team(db_engine, content))
    assert made.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in made.password_hash
    assert accounts.verify_password(made, GOOD_PASSWORD)
    assert not accounts.verify_password(made, GOOD_PASSWORD.upper())


def test_a_hash_made_with_old_parameters_is_replaced_at_the_next_right_password(
    db_engine: Engine, content: Content
) -> None:
    made = add_practitioner(db_engine, add_team(db_engine, content))
    made.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(GOOD_PASSWORD)
    old = made.password_hash
    assert not accounts.verify_password(made, "wrong password here")
    assert made.password_hash == old
    assert accounts.verify_password(made, GOOD_PASSWORD)
    assert made.password_hash != old and "m=65536" in made.password_hash


def test_creating_accounts_is_audited_without_personal_data(db_engine: Engine,
                                                            content: Content) -> None:
    add_practitioner(db_engine, add_team(db_engine, content))
    with Session(db_engine) as session:
        events = session.exec(select(AuditEvent)).all()
    assert [e.action for e in events] == ["team.created", "practitioner.created"]
    assert all("erin" not in e.detail.lower() for e in events)


def test_enrolment_gives_the_same_sealed_secret_until_it_is_confirmed(
    db_engine: Engine, content: Content, vault: Vault
) -> None:
    made = add_practitioner(db_engine, add_team(db_engine, content))
    with session_scope(db_engine) as session:
        practitioner = session.get_one(Practitioner, made.id)
        secret = accounts.enrolment_secret(session, vault, practitioner)
        assert accounts.enrolment_secret(session, vault, practitioner) == secret
    assert practitioner.totp_secret_enc is not None
    assert secret.encode() not in practitioner.totp_secret_enc
    uri = accounts.provisioning_uri(secret, practitioner.email)
    assert uri.startswith("otpauth://totp/Adref:erin%40council.example?")
    assert f"secret={secret}" in uri and "issuer=Adref" in uri


def test_a_code_is_accepted_once_and_never_again(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    alice = people.alice
    code = alice.code(clock.now)
    with session_scope(db_engine) as session:
        practitioner = session.get_one(Practitioner, alice.id)
        assert accounts.accept_code(session, vault, practitioner, code, clock.now)
        assert not accounts.accept_code(session, vault, practitioner, code, clock.now)
        # Still inside its window thirty seconds on, and still refused.
        later = clock.now + timedelta(seconds=30)
        assert not accounts.accept_code(session, vault, practitioner, code, later)


def test_codes_one_step_either_side_are_accepted_and_two_steps_are_not(
    db_engine: Engine, vault: Vault, clock: FrozenClock, people: People
) -> None:
    totp = pyotp.TOTP(people.bob.totp_secret)
    with session_scope(db_engine) as session:
        bob = session.get_one(Practitioner, people.bob.id)
        two_behind = totp.at(clock.now - timedelta(seconds=60))
        assert not accounts.accept_code(session, vault, bob, two_behind, clock.now)
        behind = totp.at(clock.now - timedelta(seconds=30))
        assert accounts.accept_code(session, vault, bob, behind, clock.now)
        ahead = totp.at(clock.now + timedelta(seconds=30))
        assert accounts.accept_code(session, vault, bob, f"{ahead[:3]} {ahead[3:]}", clock.now)
        # Once a later step is used, an earlier code that is still in the window is not.
        assert not accounts.accept_code(session, vault, bob, totp.at(clock.now), clock.now)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
def test_a_malformed_code_is_refused(db_engine: Engine, vault: Vault, clock: FrozenClock,
                                     people: People, code: str) -> None:
    with session_scope(db_engine) as session:
        dee = session.get_one(Practitioner, people.dee.id)
        assert not accounts.accept_code(session, vault, dee, code, clock.now)
