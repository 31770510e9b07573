"""Practitioner accounts: teams, passwords and the second factor (TOTP).

Signing in, throttling and dashboard sessions are in bot/signin.py. There is no default
account anywhere: accounts are made with `adref practitioner add`, or for trying Adref out
with `adref serve --demo`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from bot import audit
from bot.content import Content
from bot.crypto import Vault
from bot.models import LANGUAGES, ROLES, Practitioner, Team

MIN_PASSWORD_CHARS = 12
# Argon2 hashes whatever it is given; a bound keeps a pasted novel from costing a core.
MAX_PASSWORD_CHARS = 1024
TOTP_ISSUER = "Adref"
# One time step either side of now, for a phone whose clock is a little out.
TOTP_VALID_WINDOW = 1

# Passwords that meet the length rule and are still among the first an attacker tries.
# Compared case-insensitively. Short on purpose: the length rule does most of the work.
COMMON_PASSWORDS = frozenset({
    "123456789012", "1234567890123", "12345678901234", "111111111111", "000000000000",
    "password1234", "password12345", "password123!", "passwordpassword", "p@ssword1234",
    "qwertyuiop12", "qwertyuiop123", "qwertyqwerty", "1q2w3e4r5t6y", "abcdefghijkl",
    "abc123abc123", "iloveyou1234", "letmein12345", "welcome12345", "welcome1234!",
    "trustno1trustno1", "football1234", "monkey123456", "dragon123456", "sunshine1234",
    "changeme1234", "adref1234567", "adrefadref12", "cymru1234567", "caerdydd1234",
    "wales1234567", "cyfrinair123", "cyfrinair1234",
})  # fmt: skip
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HASHER = PasswordHasher()


class AccountError(Exception):
    """A team or account that cannot be made as asked; the message says why."""


def normalise_email(email: str) -> str:
    """An email address as stored and looked up: trimmed and lower-cased."""
    normal = email.strip().lower()
    if not _EMAIL.fullmatch(normal):
        raise AccountError("that is not an email address")
    return normal


def check_password(password: str) -> None:
    """Refuse a password that is short, too long or among the most common ones."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_CHARS} characters")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) <= 2:
        raise AccountError("that password is too easy to guess; choose another")


def hash_password(password: str) -> str:
    """An Argon2id hash of password, with the library's current parameters."""
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def waste_a_verification() -> None:
    """Spend the time a real check takes, so an unknown email answers no faster."""
    with contextlib.suppress(VerificationError):
        _HASHER.verify(_dummy_hash(), "not the password")


def verify_password(practitioner: Practitioner, password: str) -> bool:
    """True if password is right; rehash it when the hashing parameters have changed."""
    try:
        _HASHER.verify(practitioner.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _HASHER.check_needs_rehash(practitioner.password_hash):
        practitioner.password_hash = _HASHER.hash(password)
    return True


def create_team(session: Session, content: Content, name: str, areas: Iterable[str]) -> Team:
    """Make a team serving areas (codes from content/areas.yaml)."""
    name = " ".join(name.split())
    codes = list(dict.fromkeys(a.strip().lower() for a in areas))
    if not name:
        raise AccountError("a team needs a name")
    if not codes:
        raise AccountError("a team needs at least one area")
    known = [a.code for a in content.areas]
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise AccountError(f"unknown area {', '.join(unknown)}; the areas are: "
                           + ", ".join(known))
    if find_team(session, name) is not None:
        raise AccountError(f"there is already a team called {name!r}")
    team = Team(name=name, areas=json.dumps(codes))
    session.add(team)
    session.flush()
    audit.record(session, None, "team.created", team=team.id, areas=len(codes))
    return team


def find_team(session: Session, name: str) -> Team | None:
    """The team with this name, if any."""
    return session.exec(select(Team).where(Team.name == " ".join(name.split()))).first()


def create_practitioner(
    session: Session, *, name: str, email: str, password: str, role: str, team: Team | None,
    speaks_welsh: bool = False, language: str = "cy", demo: bool = False,
) -> Practitioner:
    """Make an account; the second factor is enrolled at its first sign-in."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("an account needs a name")
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if team is None and role != "admin":
        raise AccountError("practitioners and managers belong to a team")
    if language not in LANGUAGES:
        raise AccountError(f"the language must be one of {', '.join(LANGUAGES)}")
    check_password(password)
    if find_practitioner(session, email) is not None:
        raise AccountError("there is already an account with that email address")
    practitioner = Practitioner(
        name=name, email=email, password_hash=hash_password(password), role=role,
        team_id=team.id if team else None, speaks_welsh=speaks_welsh, language=language,
        demo=demo,
    )
    session.add(practitioner)
    session.flush()
    audit.record(session, None, "practitioner.created", account=practitioner.id, role=role,
                 team=practitioner.team_id, demo=demo)
    return practitioner


def find_practitioner(session: Session, email: str) -> Practitioner | None:
    """The account with this email address, if any."""
    try:
        normal = normalise_email(email)
    except AccountError:
        return None
    return session.exec(select(Practitioner).where(Practitioner.email == normal)).first()


def team_of(session: Session, practitioner: Practitioner) -> Team | None:
    """The practitioner's team (admins may have none)."""
    return None if practitioner.team_id is None else session.get(Team, practitioner.team_id)


def enrolment_secret(session: Session, vault: Vault, practitioner: Practitioner) -> str:
    """The TOTP secret to enrol: made and sealed on first use, the same until confirmed."""
    if practitioner.totp_enrolled_at is not None:
        raise AccountError("the second factor is already enrolled")
    if practitioner.totp_secret_enc is None:
        practitioner.totp_secret_enc = vault.seal(pyotp.random_base32())
        session.add(practitioner)
        session.flush()
    return vault.open(practitioner.totp_secret_enc)


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def accept_code(session: Session, vault: Vault, practitioner: Practitioner, code: str,
                now: datetime) -> bool:
    """True if code is right now (one step either way) and was not used before.

    The accepted time step is stored with a conditional UPDATE, so the same code sent
    twice at once, to two workers, is accepted only once.
    """
    code = "".join(code.split())
    if practitioner.totp_secret_enc is None or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(vault.open(practitioner.totp_secret_enc))
    current = totp.timecode(now)
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if not pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            continue
        session.flush()
        claimed = session.execute(
            update(Practitioner)
            .where(col(Practitioner.id) == practitioner.id)
            .where(or_(col(Practitioner.totp_last_step).is_(None),
                       col(Practitioner.totp_last_step) < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        session.refresh(practitioner)
        accepted: bool = claimed.rowcount == 1  # type: ignore[attr-defined]
        return accepted
    return False
