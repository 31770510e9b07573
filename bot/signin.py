"""Signing in to the dashboard: throttling, the two steps, and sessions kept on the server.

1. Password. Refused while the address has had 20 failures in 15 minutes, or while the
   account is locked (5 failures in a row lock it for 15 minutes). A right password opens
   a *pending* session, which reaches only the code (or enrolment) page, for 10 minutes.
2. Code. A TOTP code; at the first sign-in, the code that confirms enrolment. Wrong codes
   count as failures like wrong passwords. A right code completes the session and gives
   it a new token, so a token seen before sign-in is worth nothing after it.
3. Every request. The session is found by the SHA-256 of the cookie's token; it ends
   after 30 minutes idle, after 12 hours in all, and at sign-out, on the server.

Attempts are counted in the database, so every web worker sees the same numbers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from bot import audit
from bot.accounts import accept_code, find_practitioner, verify_password, waste_a_verification
from bot.crypto import Vault
from bot.models import DashboardSession, Practitioner, SignInAttempt

ACCOUNT_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
PENDING_TIMEOUT = timedelta(minutes=10)
KEEP_ATTEMPTS = timedelta(days=1)

FAILED = "failed"
THROTTLED = "throttled"
EXPIRED = "expired"


@dataclass(frozen=True)
class Step:
    """What came of one sign-in step: a token for the cookie, or why not."""

    token: str | None = None
    refused: str | None = None  # FAILED, THROTTLED or EXPIRED


@dataclass(frozen=True)
class Signed:
    """A live dashboard session and whose it is."""

    session: DashboardSession
    practitioner: Practitioner

    @property
    def complete(self) -> bool:
        """True once the second factor is in; until then only the code page is open."""
        return self.session.second_factor_at is not None


def token_hash(token: str) -> str:
    """What is stored for a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def address_throttled(session: Session, vault: Vault, address: str, now: datetime) -> bool:
    """True if this address has failed too often lately to be heard."""
    failures = session.exec(
        select(func.count()).select_from(SignInAttempt)
        .where(col(SignInAttempt.key_hash).in_(_address_keys(vault, address)))
        .where(col(SignInAttempt.ok).is_(False))
        .where(SignInAttempt.at > now - ADDRESS_WINDOW)
    ).one()
    return failures >= ADDRESS_FAILURES


def sign_in(session: Session, vault: Vault, email: str, password: str, address: str,
            now: datetime) -> Step:
    """Check an email and password; on success open a pending session."""
    if address_throttled(session, vault, address, now):
        return Step(refused=THROTTLED)
    practitioner = find_practitioner(session, email)
    if practitioner is None or practitioner.disabled_at is not None:
        waste_a_verification()
        return _failed(session, vault, None, address, now, "password")
    if _locked(practitioner, now):
        waste_a_verification()
        return _failed(session, vault, practitioner, address, now, "locked")
    if not verify_password(practitioner, password):
        return _failed(session, vault, practitioner, address, now, "password")
    _attempt(session, vault, address, ok=True, now=now)
    assert practitioner.id is not None
    token = secrets.token_urlsafe(32)
    session.add(DashboardSession(token_hash=token_hash(token), practitioner_id=practitioner.id,
                                 created_at=now, last_seen_at=now))
    # Sessions older than the absolute limit are over whatever they say; the audit trail,
    # not this table, is the record of who signed in when.
    session.execute(delete(DashboardSession)
                    .where(col(DashboardSession.created_at) < now - ABSOLUTE_TIMEOUT))
    return Step(token=token)


def second_factor(session: Session, vault: Vault, token: str, code: str, address: str,
                  now: datetime) -> Step:
    """Check the code for a pending session; on success complete it under a new token."""
    signed = find_session(session, token, now)
    if signed is None or signed.complete:
        return Step(refused=EXPIRED)
    if address_throttled(session, vault, address, now):
        return Step(refused=THROTTLED)
    practitioner = signed.practitioner
    if _locked(practitioner, now):
        return _failed(session, vault, practitioner, address, now, "locked")
    if not accept_code(session, vault, practitioner, code, now):
        return _failed(session, vault, practitioner, address, now, "code")
    _attempt(session, vault, address, ok=True, now=now)
    if practitioner.totp_enrolled_at is None:
        practitioner.totp_enrolled_at = now
        audit.record(session, practitioner.id, "totp.enrolled", at=now)
    practitioner.failed_signins = 0
    new_token = secrets.token_urlsafe(32)
    signed.session.token_hash = token_hash(new_token)
    signed.session.second_factor_at = now
    session.add_all([practitioner, signed.session])
    audit.record(session, practitioner.id, "signin", at=now)
    return Step(token=new_token)


def find_session(session: Session, token: str, now: datetime) -> Signed | None:
    """The live session for a cookie's token, or None; ends one that has timed out."""
    found = session.exec(
        select(DashboardSession).where(DashboardSession.token_hash == token_hash(token))
    ).first()
    if found is None or found.ended_at is not None:
        return None
    practitioner = session.get(Practitioner, found.practitioner_id)
    if practitioner is None or practitioner.disabled_at is not None:
        return None
    limit = ABSOLUTE_TIMEOUT if found.second_factor_at is not None else PENDING_TIMEOUT
    if now - found.last_seen_at > IDLE_TIMEOUT or now - found.created_at > limit:
        found.ended_at = now
        session.add(found)
        return None
    found.last_seen_at = now
    session.add(found)
    return Signed(found, practitioner)


def sign_out(session: Session, token: str, now: datetime) -> None:
    """End the session on the server: the cookie's token opens nothing from now on."""
    signed = find_session(session, token, now)
    if signed is None:
        return
    signed.session.ended_at = now
    session.add(signed.session)
    audit.record(session, signed.practitioner.id, "signout", at=now)


def _address_key(vault: Vault, address: str) -> str:
    # Keyed, so the table of attempts does not list the addresses people work from.
    return vault.lookup_hash("signin.address", address)


def _address_keys(vault: Vault, address: str) -> tuple[str, ...]:
    # Under every key of the ring: attempts counted before a new data key still count.
    return vault.lookup_hashes("signin.address", address)


def _locked(practitioner: Practitioner, now: datetime) -> bool:
    return practitioner.locked_until is not None and practitioner.locked_until > now


def _attempt(session: Session, vault: Vault, address: str, *, ok: bool, now: datetime) -> None:
    session.add(SignInAttempt(key_hash=_address_key(vault, address), at=now, ok=ok))
    session.execute(delete(SignInAttempt).where(col(SignInAttempt.at) < now - KEEP_ATTEMPTS))


def _failed(session: Session, vault: Vault, practitioner: Practitioner | None, address: str,
            now: datetime, reason: str) -> Step:
    """Count a failure against the address and, if known and not yet locked, the account."""
    _attempt(session, vault, address, ok=False, now=now)
    if practitioner is None:
        return Step(refused=FAILED)
    audit.record(session, practitioner.id, "signin.failed", at=now, reason=reason)
    if reason == "locked":
        return Step(refused=FAILED)
    # An increment in the database, so failures on two workers at once both count.
    session.flush()
    session.execute(
        update(Practitioner).where(col(Practitioner.id) == practitioner.id)
        .values(failed_signins=col(Practitioner.failed_signins) + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(practitioner)
    if practitioner.failed_signins >= ACCOUNT_FAILURES:
        practitioner.locked_until = now + LOCK_FOR
        practitioner.failed_signins = 0
        session.add(practitioner)
        audit.record(session, practitioner.id, "signin.locked", at=now)
    return Step(refused=FAILED)
