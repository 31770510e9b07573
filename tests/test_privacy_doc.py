"""docs/privacy.md names every personal-data column, and only columns that exist."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers every table on SQLModel.metadata)

DOC = Path(__file__).resolve().parent.parent / "docs" / "privacy.md"

# Personal or identifying columns that are neither sealed (*_enc) nor hashed (*_hash).
OTHER_PERSONAL = (
    # Practitioners are data subjects too: stored in clear.
    "practitioner.name",
    "practitioner.email",
    # About the young person: with dates, an area or being in care can identify a child
    # in a small area; flags and outcomes are safeguarding information.
    "rhi_request.reference",
    "rhi_request.area",
    "rhi_request.returned_band",
    "rhi_request.returned_at",
    "rhi_request.in_care",
    "rhi_request.contact_method",
    "rhi_request.contact_time",
    "rhi_request.welsh_worker",
    "rhi_request.welsh_worker_given",
    "rhi_request.urgent",
    "rhi_request.outcome",
    "rhi_request.transferred_to",
    "contact.language",
    "contact.role",
    "contact.urgent",
    "contact.opted_out_at",
    "consent_record.granted",
    # Provider ids tie a row to a person's account at Telegram or Twilio.
    "inbound_event.provider_id",
    "outbox.provider_message_id",
    # Free text or free-ish JSON: must be documented, even though meant to hold no
    # personal data.
    "outbox.last_error",
    "request_event.detail",
    "audit_event.detail",
)

# `table.column` in backticks; file names such as `bot/purge.py` don't match.
_NAMED = re.compile(r"`([a-z_]+)\.([a-z_]+)`")
_NOT_COLUMNS = {"py", "md", "yaml", "csv", "txt", "json"}


def _columns() -> set[str]:
    return {f"{table.name}.{column.name}"
            for table in SQLModel.metadata.tables.values() for column in table.columns}


def _personal() -> set[str]:
    columns = _columns()
    sealed_or_hashed = {c for c in columns if c.endswith(("_enc", "_hash"))}
    return sealed_or_hashed | set(OTHER_PERSONAL)


def _named() -> set[str]:
    return {f"{t}.{c}" for t, c in _NAMED.findall(DOC.read_text(encoding="utf-8"))
            if c not in _NOT_COLUMNS}


def test_the_explicit_list_names_real_columns() -> None:
    missing = sorted(set(OTHER_PERSONAL) - _columns())
    assert not missing, f"OTHER_PERSONAL names columns that do not exist: {missing}"


def test_every_personal_column_is_documented() -> None:
    undocumented = sorted(_personal() - _named())
    assert not undocumented, (
        f"docs/privacy.md does not mention these personal-data columns as "
        f"`table.column`: {undocumented}")


def test_every_documented_column_exists() -> None:
    unknown = sorted(_named() - _columns())
    assert not unknown, f"docs/privacy.md names columns that do not exist: {unknown}"


def test_sealed_and_hashed_columns_match_bot_keys() -> None:
    from bot.keys import HASHES, SEALED

    sealed = {f"{spec.table}.{name}" for spec in SEALED for name in spec.columns}
    columns = _columns()
    assert sealed == {c for c in columns if c.endswith("_enc")}
    assert set(HASHES) == {c for c in columns if c.endswith("_hash")}
