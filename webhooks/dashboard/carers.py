"""Sending a parent or carer the information sheet by SMS, and seeing whether it arrived.

The text goes through the outbox like every other message (so it is retried, and its
delivery status comes back from Twilio's status callback). The number is kept only
sealed in the outbox row: the audit row holds the outbox ids, and the page shows the
number masked. The number is checked by bot/alerts.py `uk_mobile`, as a team's duty
phone is (texts need a mobile).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import redirect, request, url_for
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from bot import audit, outbox
from bot.alerts import NotAMobile as NotAMobile  # re-exported: the page's tests use them
from bot.alerts import masked as masked
from bot.alerts import uk_mobile as uk_mobile
from bot.content import LANGS, sheet_path
from bot.db import session_scope
from bot.engine import Reply
from bot.i18n import format_datetime
from bot.models import AuditEvent, OutboxMessage, Practitioner
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import (
    current_practitioner,
    current_team,
    login_required,
    now,
    runtime,
)
from webhooks.dashboard.pages import langs_for, render

ACTION = "carer_sheet_sent"
# The sheet's id (content/<lang>/sheets) and the catalog key of the text that links to it.
SHEETS = {"parents-carers": "carer.sms.parents",
          "foster-residential-carers": "carer.sms.foster"}
RECENT = 20
# What the outbox knows, as the practitioner needs it: is it still to go, gone, there?
SHOWN_STATUS = {"pending": "pending", "sending": "pending", "sent": "sent",
                "delivered": "delivered", "failed": "failed", "dead": "failed"}
# A message in several parts is only as far along as its slowest part.
PROGRESS = ("failed", "pending", "sent", "delivered")


@dataclass(frozen=True)
class Sent:
    """One sheet sent, as the list shows it."""

    at: datetime
    to: str
    sheet: str
    language: str
    status: str


def send(session: Session, practitioner_id: int, number: str, lang: str, sheet: str,
         base_url: str, at: datetime) -> int:
    """Queue the sheet's text to number in lang and audit it; return the first outbox id."""
    key = uuid.uuid4().hex
    text = runtime().content.text(lang, SHEETS[sheet],
                                  link=f"{base_url}{sheet_path(lang, sheet)}")
    outbox.enqueue(session, runtime().vault, key=f"carer:{key}", contact_id=None,
                   channel="sms", recipient=number, language=lang, replies=[Reply(text)],
                   now=at)
    session.flush()
    rows = _parts(session, key)
    first = rows[0].id
    assert first is not None
    audit.record(session, practitioner_id, ACTION, at=at, outbox=first, send=key,
                 parts=len(rows), sheet=sheet, lang=lang)
    return first


def _parts(session: Session, key: str) -> list[OutboxMessage]:
    return list(session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.idempotency_key).startswith(f"carer:{key}:"))
        .order_by(col(OutboxMessage.id))))


def recent(session: Session, practitioner: Practitioner) -> list[Sent]:
    """The latest sheets sent by the practitioner's team (by them alone, with no team)."""
    senders = (select(Practitioner.id).where(Practitioner.team_id == practitioner.team_id)
               if practitioner.team_id is not None
               else select(Practitioner.id).where(Practitioner.id == practitioner.id))
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == ACTION, col(AuditEvent.practitioner_id).in_(senders))
        .order_by(col(AuditEvent.id).desc()).limit(RECENT)
    ).all()
    found: list[Sent] = []
    for event in events:
        detail = json.loads(event.detail)
        parts = _parts(session, detail["send"])
        if not parts:
            continue
        status = min((SHOWN_STATUS[p.status] for p in parts), key=PROGRESS.index)
        found.append(Sent(event.at, masked(runtime().vault.open(parts[0].recipient_enc)),
                          detail["sheet"], detail["lang"], status))
    return found


def _page(error: str | None = None, status: int = 200, **values: object) -> tuple[str, int]:
    practitioner = current_practitioner()
    with session_scope(runtime().engine) as session:
        sends = recent(session, practitioner)
    return render("carers.html", langs_for(practitioner), status, error=error, sends=sends,
                  sheets=list(SHEETS), languages=LANGS, team=current_team(),
                  when=lambda at: format_datetime(at, practitioner.language),
                  sent=request.args.get("sent") == "1", **values)


@blueprint.get("/carers")
@login_required
def carers() -> tuple[str, int]:
    """The form, and the team's recent sends with how far each got."""
    return _page(number="", chosen_lang=None, chosen_sheet=None)


@blueprint.post("/carers")
@login_required
def send_carer_sheet() -> tuple[str, int] | Response:
    """Check the number, queue the text, audit it, and go back to the list."""
    practitioner = current_practitioner()
    assert practitioner.id is not None
    number = request.form.get("number", "").strip()[:40]
    lang, sheet = request.form.get("lang"), request.form.get("sheet")
    kept = {"number": number, "chosen_lang": lang, "chosen_sheet": sheet}
    if lang not in LANGS or sheet not in SHEETS:
        return _page("dash.carers.choose", 400, **kept)
    try:
        e164 = uk_mobile(number)
    except NotAMobile as refused:
        return _page(refused.key, 400, **kept)
    settings = runtime().settings
    base = settings.public_base_url or request.host_url.rstrip("/")
    with session_scope(runtime().engine) as session:
        send(session, practitioner.id, e164, lang, sheet, base, now())
    runtime().wake.set()  # the dispatcher sends it now, not at its next poll
    return redirect(url_for("dashboard.carers", sent=1), 303)
