"""Demo data for trying the dashboard: `adref serve --demo` (and `python3 dev.py serve`).

One clearly marked team and one manager account with a random password and a second
factor already enrolled, so the dashboard can be tried at once. A database holding them
can never run in production: Runtime.start refuses it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import Engine, inspect
from sqlmodel import Session, col, select

from bot import accounts, audit
from bot.content import Content
from bot.crypto import Vault
from bot.models import Practitioner

TEAM = "Demo — Caerdydd a Bro Morgannwg"
AREAS = ("cardiff", "vale_of_glamorgan")
# .invalid can never be a real address (RFC 2606), so no mail can go astray.
EMAIL = "demo.manager@adref.invalid"
NAME = "Demo Manager"


@dataclass(frozen=True)
class DemoAccount:
    """How to sign in as the demo manager."""

    email: str
    password: str = ""
    totp_secret: str = ""

    @property
    def otpauth_uri(self) -> str:
        """The address an authenticator app reads, for adding the account by hand."""
        return accounts.provisioning_uri(self.totp_secret, self.email)


def ensure(session: Session, content: Content, vault: Vault, now: datetime) -> DemoAccount:
    """Make the demo team and manager if missing, and give the manager a new password.

    Only a hash of a password is kept, so each start makes a new one to show; the TOTP
    secret stays the same, so an authenticator app set up once keeps working.
    """
    team = accounts.find_team(session, TEAM) or accounts.create_team(
        session, content, TEAM, AREAS)
    password = secrets.token_urlsafe(15)
    manager = accounts.find_practitioner(session, EMAIL)
    if manager is None:
        manager = accounts.create_practitioner(
            session, name=NAME, email=EMAIL, password=password, role="manager", team=team,
            speaks_welsh=True, language="cy", demo=True)
    elif not manager.demo:
        raise accounts.AccountError(f"{EMAIL} belongs to an account that is not a demo")
    else:
        manager.password_hash = accounts.hash_password(password)
    if manager.totp_secret_enc is None or manager.totp_enrolled_at is None:
        manager.totp_secret_enc = vault.seal(pyotp.random_base32())
        manager.totp_enrolled_at = now
    manager.failed_signins, manager.locked_until, manager.disabled_at = 0, None, None
    session.add(manager)
    audit.record(session, None, "demo.ready", account=manager.id, at=now)
    return DemoAccount(EMAIL, password, vault.open(manager.totp_secret_enc))


def present(engine: Engine) -> bool:
    """True if the database holds demo accounts (a database not yet migrated holds none)."""
    if not inspect(engine).has_table("practitioner"):
        return False
    with Session(engine) as session:
        return session.exec(select(Practitioner.id).where(col(Practitioner.demo))).first() \
            is not None
