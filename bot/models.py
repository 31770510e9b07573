"""Database tables. Personal data is sealed with bot.crypto.Vault before it lands here."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bot.clock import utcnow

# Named constraints let Alembic's batch mode find and change them on SQLite later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CHANNELS = ("telegram", "sms", "web", "console")
LANGUAGES = ("cy", "en")
REQUEST_STATUSES = ("queued", "claimed", "closed", "withdrawn")
RETURNED_BANDS = ("today", "yesterday", "days_2_3", "longer")
IN_CARE = ("home", "care", "unsaid")
CONTACT_METHODS = ("chat", "phone", "text", "in_person")
CONTACT_TIMES = ("morning", "afternoon", "evening", "any")
OUTCOMES = ("completed", "declined", "unable_to_contact", "transferred", "withdrawn")
OUTBOX_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "dead")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, stored as naive UTC on every database."""

    # SQLite has no time zones and hands back naive values even for
    # DateTime(timezone=True); storing naive UTC everywhere keeps both dialects alike.
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to naive UTC; refuse naive ones."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use bot.clock.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Mark a stored naive UTC value as UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


def _one_of(column: str, values: tuple[str, ...], *, nullable: bool = False) -> CheckConstraint:
    """Return a CHECK that column holds one of values."""
    allowed = ", ".join(f"'{v}'" for v in values)
    condition = f"{column} IN ({allowed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=column)


def _at(*, nullable: bool = False, index: bool = False) -> datetime:
    """Declare a UTC timestamp column; non-null ones default to now."""
    if nullable:
        return Field(default=None, sa_type=UtcDateTime, index=index)  # type: ignore[no-any-return]
    return Field(default_factory=utcnow, sa_type=UtcDateTime, index=index)  # type: ignore[no-any-return]


# Someone who has messaged the service on one channel, found by a keyed hash of the address.
class Contact(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        _one_of("channel", CHANNELS),
        _one_of("language", LANGUAGES, nullable=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    address_hash: str = Field(unique=True, index=True)
    address_enc: bytes
    language: str | None = None
    role: str | None = None
    urgent: bool = False
    opted_out_at: datetime | None = _at(nullable=True)
    created_at: datetime = _at()
    last_seen_at: datetime = _at()


# The engine's state for one contact, sealed: the answers so far can hold a phone number
# and a note. The version guards against lost updates.
class Conversation(SQLModel, table=True):
    __tablename__ = "conversation"

    contact_id: int = Field(primary_key=True, foreign_key="contact.id", ondelete="CASCADE")
    state_enc: bytes
    version: int = 0
    updated_at: datetime = _at()


# Every inbound message once; the unique provider id makes a redelivery a no-op.
class InboundEvent(SQLModel, table=True):
    __tablename__ = "inbound_event"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id"),
        _one_of("channel", CHANNELS),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    provider_id: str
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL", index=True
    )
    received_at: datetime = _at(index=True)  # the purge of old text scans by age
    text_enc: bytes | None = None


# Append-only evidence of what was agreed, in which words; a withdrawal is a new row.
class ConsentRecord(SQLModel, table=True):
    __tablename__ = "consent_record"
    __table_args__ = (
        _one_of("channel", CHANNELS),
        _one_of("language", LANGUAGES),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL", index=True
    )
    request_id: int | None = Field(
        default=None, foreign_key="rhi_request.id", ondelete="SET NULL", index=True
    )
    purpose: str
    granted: bool
    wording_version: str
    language: str
    channel: str
    recorded_at: datetime = _at(index=True)  # the monthly report reads a month of them


# A young person's request for a return home interview, as practitioners see it.
class RhiRequest(SQLModel, table=True):
    __tablename__ = "rhi_request"
    __table_args__ = (
        _one_of("language", LANGUAGES),
        _one_of("channel", CHANNELS),
        _one_of("returned_band", RETURNED_BANDS),
        _one_of("in_care", IN_CARE),
        _one_of("contact_method", CONTACT_METHODS),
        _one_of("contact_time", CONTACT_TIMES),
        _one_of("status", REQUEST_STATUSES),
        _one_of("outcome", OUTCOMES, nullable=True),
        # The practitioner queue: open requests per area, urgent first, then by deadline.
        Index("ix_rhi_request_queue", "status", "area", "urgent", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, index=True)
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL", index=True
    )
    language: str
    channel: str
    area: str | None = None
    returned_band: str
    returned_at: datetime | None = _at(nullable=True)
    due_at: datetime = Field(sa_type=UtcDateTime)
    in_care: str
    contact_method: str
    contact_time: str
    contact_phone_enc: bytes | None = None
    welsh_worker: bool
    note_enc: bytes | None = None
    status: str = "queued"  # indexed first in ix_rhi_request_queue
    urgent: bool = False
    claimed_by: int | None = Field(
        default=None, foreign_key="practitioner.id", ondelete="SET NULL"
    )
    claimed_at: datetime | None = _at(nullable=True)
    # The first time a worker reached the young person (a message sent or a contact
    # attempt that got through): what "contacted within the target" is measured by.
    first_contact_at: datetime | None = _at(nullable=True)
    outcome: str | None = None
    outcome_note_enc: bytes | None = None
    transferred_to: str | None = None  # where a transferred request went, e.g. a council
    # Whether the young person who wanted a Welsh-speaking worker got one (the Active Offer).
    welsh_worker_given: bool | None = None
    created_at: datetime = _at(index=True)  # monthly reports group by creation time
    withdrawn_at: datetime | None = _at(nullable=True)
    closed_at: datetime | None = _at(nullable=True)


# One step in a request's timeline; detail is JSON and never holds personal data.
class RequestEvent(SQLModel, table=True):
    __tablename__ = "request_event"
    __table_args__ = (Index("ix_request_event_timeline", "request_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="rhi_request.id", ondelete="CASCADE")
    kind: str
    actor: str
    at: datetime = _at()
    detail: str = Field(default="{}", sa_type=Text)


# A message waiting to go out, or gone: written in the same transaction as its cause,
# sent by a dispatcher that leases it, retried with backoff, dead on a permanent error.
class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        _one_of("channel", CHANNELS),
        _one_of("status", OUTBOX_STATUSES),
        # The dispatcher's scan: what is due, oldest first.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Per-contact ordering: is there an earlier message still unsent?
        Index("ix_outbox_contact_order", "contact_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    contact_id: int | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    channel: str
    recipient_enc: bytes
    language: str | None = None
    body_enc: bytes
    options: str = Field(default="[]", sa_type=Text)  # [[key, label], ...]: content, not personal
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = _at()
    lease_until: datetime | None = _at(nullable=True)
    provider_message_id: str | None = Field(default=None, index=True)
    delivery_status: str | None = None
    last_error: str | None = None
    created_at: datetime = _at()
    sent_at: datetime | None = _at(nullable=True)


ROLES = ("practitioner", "manager", "admin")


# A service that picks up requests: its areas are codes from content/areas.yaml, kept as a
# JSON list so a team can cover any number of them.
class Team(SQLModel, table=True):
    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    areas: str = Field(default="[]", sa_type=Text)
    # The phone the team keeps on duty, sealed like every number: texted when a request
    # in its areas becomes urgent (bot/alerts.py). None: the dashboard banner only.
    duty_phone_enc: bytes | None = None
    created_at: datetime = _at()

    @property
    def area_codes(self) -> tuple[str, ...]:
        """The team's area codes, in the order they were given."""
        codes: list[str] = json.loads(self.areas)
        return tuple(codes)


# Someone who signs in to the dashboard. Accounts are disabled, never deleted: the audit
# trail points at them. Only admins may belong to no team (they see every area).
class Practitioner(SQLModel, table=True):
    __tablename__ = "practitioner"
    __table_args__ = (
        _one_of("role", ROLES),
        _one_of("language", LANGUAGES),
        CheckConstraint("role = 'admin' OR team_id IS NOT NULL", name="team_needed"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(unique=True)  # lower-cased by bot.accounts
    password_hash: str
    totp_secret_enc: bytes | None = None  # sealed; present but not enrolled while pending
    totp_enrolled_at: datetime | None = _at(nullable=True)
    # The last TOTP time step accepted, so a code seen over someone's shoulder is no use.
    totp_last_step: int | None = None
    role: str
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    speaks_welsh: bool = False
    language: str = "cy"  # the dashboard's language
    failed_signins: int = 0
    locked_until: datetime | None = _at(nullable=True)
    demo: bool = False
    created_at: datetime = _at()
    disabled_at: datetime | None = _at(nullable=True)


# A signed-in browser. The cookie holds a random token and only its SHA-256 is stored, so
# a copy of the database opens no sessions. second_factor_at is None until the code is in.
class DashboardSession(SQLModel, table=True):
    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True)
    practitioner_id: int = Field(foreign_key="practitioner.id", ondelete="CASCADE", index=True)
    created_at: datetime = _at()
    last_seen_at: datetime = _at()
    ended_at: datetime | None = _at(nullable=True)
    second_factor_at: datetime | None = _at(nullable=True)


# One sign-in attempt, by a keyed hash of where it came from: the throttle is counted in
# the database so that every web worker sees the same number.
class SignInAttempt(SQLModel, table=True):
    __tablename__ = "sign_in_attempt"
    __table_args__ = (Index("ix_sign_in_attempt_recent", "key_hash", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str
    at: datetime = _at(index=True)  # old rows are pruned by age
    ok: bool


# Who saw or changed what, and when. Append-only: bot.audit is the one writer, and the
# migration adds triggers that refuse UPDATE and DELETE. detail is JSON of ids and codes,
# never personal data.
class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at(index=True)
    practitioner_id: int | None = Field(default=None, foreign_key="practitioner.id", index=True)
    action: str
    # The return home interview request concerned; no foreign key, so that erasing a
    # request never has to change the trail.
    request_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="{}", sa_type=Text)
