"""The audit trail: who saw or changed what, and when. The one place audit rows are written.

Rows are only ever added. Nothing in Adref updates or deletes them, and the database
refuses to (the migration adds triggers). The detail is a small JSON object of ids, codes
and flags: never a name, an email, a phone number or anything a young person wrote.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlmodel import Session

from bot.clock import utcnow
from bot.models import AuditEvent

# Detail values are ids, counts, flags and short codes ("cardiff", "K7PM-4XQ2",
# "password"); anything with a space or an @ is refused, so free text and email
# addresses cannot slip into the trail.
_CODE = re.compile(r"[A-Za-z0-9_.:\-]{0,64}")
_ACTION = re.compile(r"[a-z][a-z0-9_.]{0,63}")


def record(session: Session, practitioner_id: int | None, action: str,
           request_id: int | None = None, *, at: datetime | None = None,
           **detail: str | int | bool | None) -> AuditEvent:
    """Add an audit row to the session's transaction: it is kept only if that commits."""
    if not _ACTION.fullmatch(action):
        raise ValueError(f"audit action must be a lower-case dotted code, not {action!r}")
    for key, value in detail.items():
        if isinstance(value, str) and not _CODE.fullmatch(value):
            raise ValueError(f"audit detail {key!r} must be an id or a code, not free text")
        if not isinstance(value, str | int | bool | None):
            raise ValueError(f"audit detail {key!r} must be a string, number or flag")
    event = AuditEvent(
        at=at or utcnow(), practitioner_id=practitioner_id, action=action,
        request_id=request_id, detail=json.dumps(detail, sort_keys=True),
    )
    session.add(event)
    return event
