"""The audit trail, for admins: who saw or changed what, and when. Read-only.

Nobody can edit it: there is no form here, and the database refuses UPDATE and DELETE on
the audit table (bot/audit.py). Everyone else gets the same 404 as for a page that isn't there.
"""

from __future__ import annotations

from flask import abort, request
from sqlmodel import Session, col, select

from bot import audit
from bot.db import session_scope
from bot.i18n import format_datetime
from bot.models import AuditEvent, Practitioner, RhiRequest
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import current_practitioner, login_required, now, runtime
from webhooks.dashboard.pages import langs_for, render

PAGE_SIZE = 100


@blueprint.get("/audit")
@login_required
def audit_trail() -> tuple[str, int]:
    """The newest audit events first, a page at a time."""
    practitioner = current_practitioner()
    if practitioner.role != "admin":
        abort(404)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    lang = practitioner.language
    with Session(runtime().engine) as session:
        rows = session.exec(
            select(AuditEvent, Practitioner.name, RhiRequest.reference)
            .join(Practitioner, col(Practitioner.id) == col(AuditEvent.practitioner_id),
                  isouter=True)
            .join(RhiRequest, col(RhiRequest.id) == col(AuditEvent.request_id), isouter=True)
            .order_by(col(AuditEvent.id).desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
        ).all()
    events = [
        {"at": format_datetime(event.at, lang), "who": name or "-", "action": event.action,
         "reference": reference, "detail": event.detail}
        for event, name, reference in rows[:PAGE_SIZE]
    ]
    with session_scope(runtime().engine) as session:
        audit.record(session, practitioner.id, "audit.viewed", at=now(), page=page)
    return render("audit.html", langs_for(practitioner), events=events, page=page,
                  more=len(rows) > PAGE_SIZE)
