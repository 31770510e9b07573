"""Moving every sealed value to the current data key: `adref keys rotate` and `check`.

The service keeps running throughout: its Vault seals with the new key, opens with the
new and the old, and looks contacts up under both (bot.crypto). Rotation then:
1. walks each table with sealed columns in batches, oldest row first, each batch in a
   transaction of its own, picking (in SQL) only rows with a value whose first byte is
   not the current key's id;
2. opens each such value with whichever key sealed it and writes it back sealed under
   the current key, with a conditional UPDATE that changes the value only if it is still
   the one read: a value the service rewrote meanwhile is already under the current key
   and is left alone. A contact's address hash is recomputed in the same UPDATE;
3. deletes the sign-in attempts the throttle no longer reads (their hashes can't be
   recomputed: the address behind them was never stored);
4. counts what is left under another key (`check`), which must be nothing before the
   old key is removed.

Interrupted, it loses nothing (the batch in hand rolls back); run again, it carries on
where it stopped, since finished rows no longer match. Nothing it prints or logs is
personal: table names and counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, LargeBinary, and_, delete, func, literal, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from bot import audit
from bot.crypto import Vault, VaultError
from bot.db import session_scope
from bot.models import (
    Contact,
    Conversation,
    InboundEvent,
    OutboxMessage,
    Practitioner,
    RhiRequest,
    SignInAttempt,
    Team,
)
from bot.signin import ADDRESS_WINDOW

BATCH = 500


@dataclass(frozen=True)
class Sealed:
    """One table's sealed columns, and the column that names a row."""

    model: type[SQLModel]
    key: str
    columns: tuple[str, ...]

    @property
    def table(self) -> str:
        """The table's name, as printed."""
        return str(self.model.__tablename__)


# Every sealed column in the database (a test holds this list to bot.models).
SEALED: tuple[Sealed, ...] = (
    Sealed(Contact, "id", ("address_enc",)),  # and address_hash, recomputed with it
    Sealed(Conversation, "contact_id", ("state_enc",)),
    Sealed(InboundEvent, "id", ("text_enc",)),
    Sealed(RhiRequest, "id", ("contact_phone_enc", "note_enc", "outcome_note_enc")),
    Sealed(OutboxMessage, "id", ("recipient_enc", "body_enc")),
    Sealed(Practitioner, "id", ("totp_secret_enc",)),
    Sealed(Team, "id", ("duty_phone_enc",)),
)

# Every hash column, and what a new data key means for it.
HASHES = {
    "contact.address_hash": "keyed: recomputed from address_enc when that is re-sealed",
    "sign_in_attempt.key_hash": "keyed, of an address never stored: older than the "
                                "throttle's window, deleted by rotate; the rest expire",
    "dashboard_session.token_hash": "SHA-256 of a random token: no key",
    "practitioner.password_hash": "argon2: no key",
}


@dataclass(frozen=True)
class Tally:
    """What rotation did to one table so far."""

    table: str
    resealed: int = 0
    # Sealed under no key the vault holds (a key missing from ADREF_DATA_KEY_PREVIOUS):
    # left exactly as they are, and counted by `check`.
    unreadable: int = 0
    # Rewritten by the service between our read and our write: under the current key
    # already, unless the service itself still runs with the old key.
    changed_meanwhile: int = 0
    # A contact whose new hash another contact row already has (the same address stored
    # twice, by a process that ran without the old key): left for a person to look at.
    duplicates: int = 0


@dataclass(frozen=True)
class Rotation:
    """What a whole rotation did."""

    tallies: tuple[Tally, ...]
    attempts_removed: int


def _stale(vault: Vault, column: Any) -> ColumnElement[bool]:
    """SQL: the column holds a value whose key id byte is not the current key's."""
    current = literal(bytes([vault.key_id]), LargeBinary)
    return and_(column.is_not(None), func.substr(column, 1, 1) != current)


def _any_stale(vault: Vault, spec: Sealed) -> ColumnElement[bool]:
    return or_(*(_stale(vault, col(getattr(spec.model, name))) for name in spec.columns))


def stale(engine: Engine, vault: Vault) -> dict[str, int]:
    """How many values in each table are not yet under the current key."""
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for spec in SEALED:
            total = 0
            for name in spec.columns:
                column = col(getattr(spec.model, name))
                total += session.exec(select(func.count()).select_from(spec.model)
                                      .where(_stale(vault, column))).one()
            counts[spec.table] = total
    return counts


def rotate(engine: Engine, vault: Vault, now: datetime, *, batch: int = BATCH,
           progress: Callable[[Tally], None] | None = None) -> Rotation:
    """Re-seal every value not under the current key; see the module's steps."""
    tallies = []
    for spec in SEALED:
        tally = Tally(spec.table)
        after: Any = None
        while True:
            with session_scope(engine) as session:
                rows = _next_batch(session, vault, spec, after, batch)
                for row in rows:
                    tally = _rotate_row(session, vault, spec, row, tally)
            if progress is not None and rows:
                progress(tally)
            if len(rows) < batch:
                break
            after = rows[-1][0]
        tallies.append(tally)
    with session_scope(engine) as session:
        # The throttle counts failures over ADDRESS_WINDOW: older attempts are never read
        # again, and whatever key hashed them, nothing can move them to the new one.
        removed = session.execute(
            delete(SignInAttempt).where(col(SignInAttempt.at) < now - ADDRESS_WINDOW)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        audit.record(session, None, "keys.rotated", at=now, key_id=vault.key_id,
                     resealed=sum(t.resealed for t in tallies),
                     unreadable=sum(t.unreadable for t in tallies))
    return Rotation(tuple(tallies), int(removed))


def _next_batch(session: Session, vault: Vault, spec: Sealed, after: Any, batch: int
                ) -> list[Any]:
    key = col(getattr(spec.model, spec.key))
    columns = [col(getattr(spec.model, name)) for name in spec.columns]
    if spec.model is Contact:
        columns.append(col(Contact.channel))
    query = select(key, *columns).where(_any_stale(vault, spec))
    if after is not None:
        # Past the rows already seen, so an unreadable one is not read again and again.
        query = query.where(key > after)
    return list(session.execute(query.order_by(key).limit(batch)).all())


def _rotate_row(session: Session, vault: Vault, spec: Sealed, row: Any, tally: Tally
                ) -> Tally:
    """Re-seal one row's stale values, each only if it is still the value read."""
    row_key, *values = row
    channel = values.pop() if spec.model is Contact else ""  # the kind of its address hash
    key = col(getattr(spec.model, spec.key))
    for name, old in zip(spec.columns, values, strict=True):
        if old is None or vault.is_current(old):
            continue
        try:
            text = vault.open(old)
        except VaultError:
            tally = replace(tally, unreadable=tally.unreadable + 1)
            continue
        column = col(getattr(spec.model, name))
        new: dict[str, Any] = {name: vault.seal(text)}
        if spec.model is Contact:
            new["address_hash"] = vault.lookup_hash(channel, text)
            taken = session.exec(select(Contact.id).where(
                Contact.address_hash == new["address_hash"], col(Contact.id) != row_key)).first()
            if taken is not None:
                tally = replace(tally, duplicates=tally.duplicates + 1)
                continue
        changed = session.execute(
            update(spec.model).where(key == row_key, column == old).values(new)
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
        if changed == 1:
            tally = replace(tally, resealed=tally.resealed + 1)
        else:
            tally = replace(tally, changed_meanwhile=tally.changed_meanwhile + 1)
    return tally
