"""Demo data (bot/demo.py): `adref serve --demo`, and production refusing to run with it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import demo, signin
from bot.config import ConfigError, Settings
from bot.content import Content
from bot.crypto import Vault
from bot.db import session_scope
from bot.models import Practitioner, Team
from bot.runtime import Runtime
from tests.conftest import FrozenClock
from tests.process import serving


def ensure(engine: Engine, content: Content, vault: Vault, clock: FrozenClock
           ) -> demo.DemoAccount:
    with session_scope(engine) as session:
        return demo.ensure(session, content, vault, clock.now)


def test_the_demo_is_made_once_and_its_password_renewed_at_each_start(
    db_engine: Engine, content: Content, vault: Vault, clock: FrozenClock
) -> None:
    first = ensure(db_engine, content, vault, clock)
    second = ensure(db_engine, content, vault, clock)
    with Session(db_engine) as session:
        teams = session.exec(select(Team)).all()
        managers = session.exec(select(Practitioner)).all()
    assert [t.name for t in teams] == ["Demo — Caerdydd a Bro Morgannwg"]
    assert teams[0].area_codes == ("cardiff", "vale_of_glamorgan")
    assert len(managers) == 1 and managers[0].demo and managers[0].role == "manager"
    assert managers[0].totp_enrolled_at is not None
    assert second.totp_secret == first.totp_secret and second.password != first.password
    # The newest password and the TOTP secret sign in; the old password does not.
    with session_scope(db_engine) as session:
        assert signin.sign_in(session, vault, first.email, first.password, "127.0.0.1",
                              clock.now).refused == signin.FAILED
        step = signin.sign_in(session, vault, second.email, second.password, "127.0.0.1",
                              clock.now)
    assert step.token
    code = pyotp.TOTP(second.totp_secret).at(clock.now)
    with session_scope(db_engine) as session:
        assert signin.second_factor(session, vault, step.token, code, "127.0.0.1",
                                    clock.now).token


def test_the_otpauth_uri_names_adref_and_the_demo_account(
    db_engine: Engine, content: Content, vault: Vault, clock: FrozenClock
) -> None:
    account = ensure(db_engine, content, vault, clock)
    assert account.otpauth_uri.startswith("otpauth://totp/Adref:demo.manager%40adref.invalid?")
    assert f"secret={account.totp_secret}" in account.otpauth_uri


def test_production_refuses_to_start_on_a_database_with_demo_data(
    settings: Settings, db_engine: Engine, content: Content, vault: Vault, clock: FrozenClock
) -> None:
    production = dataclasses.replace(settings, production=True)
    Runtime.start(production).engine.dispose()  # no demo data yet: starts
    ensure(db_engine, content, vault, clock)
    with pytest.raises(ConfigError, match="demo accounts"):
        Runtime.start(production)
    Runtime.start(settings).engine.dispose()  # development is fine with it


def test_serve_demo_prints_how_to_sign_in_and_serves_the_dashboard(tmp_path: Path,
                                                                    database_url: str) -> None:
    with serving(tmp_path, "--demo", database=database_url) as served:
        status, body, _ = served.get("/dashboard/sign-in")
        assert status == 200 and "Mewngofnodi" in body and "Sign in" in body
    assert served.returncode == 0, served.stderr
    stdout = served.stdout
    assert f"http://127.0.0.1:{served.port}/dashboard/sign-in" in stdout
    assert "demo.manager@adref.invalid" in stdout
    assert re.search(r"password: +\S{16,}", stdout)
    assert re.search(r"TOTP secret: +([A-Z2-7]{4} ){7}[A-Z2-7]{4}", stdout)
    assert "otpauth://totp/Adref:" in stdout
