"""Twilio's webhooks: inbound SMS and delivery status, each signed by Twilio.

The X-Twilio-Signature is checked with the twilio library's RequestValidator against
PUBLIC_BASE_URL plus the path and query, not against the URL Flask sees: behind a TLS
proxy Flask sees http://internal-host/..., while Twilio signed https://public-host/....

Replies normally go out through the outbox. If handling a message fails (the database
is gone, a bug in the engine), the fixed safe reply (bot/safety.py `fallback`: 999,
Childline and Meic, Welsh then English) goes back in this response's TwiML instead,
since it needs nothing but the content loaded at start-up.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request
from sqlmodel import select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import metrics, safety
from bot.channels import sms
from bot.db import session_scope
from bot.models import OutboxMessage
from bot.outbox import mark_unreachable
from webhooks import runtime_of

log = logging.getLogger(__name__)
blueprint = Blueprint("twilio", __name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Status callbacks can arrive out of order; a status only ever moves forward.
STATUS_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2,
               "delivered": 3, "undelivered": 3, "failed": 3, "read": 4}
PERMANENT_CODES = {"21610", "21211", "21614", "30004", "30005", "30006"}


def _verified() -> bool:
    settings = runtime_of(current_app).settings
    if not settings.twilio_auth_token or not settings.public_base_url:
        return False
    query = request.query_string.decode()
    url = settings.public_base_url + request.path + (f"?{query}" if query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    valid: bool = RequestValidator(settings.twilio_auth_token).validate(
        url, request.form.to_dict(), signature)
    return valid


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@blueprint.post("/webhooks/twilio/sms")
def inbound() -> Response:
    """Receive one SMS; the replies go out through the outbox, not in this response
    (unless handling it failed: then the fixed safe reply is in it)."""
    if not _verified():
        log.warning("twilio sms webhook refused: bad or missing signature")
        metrics.inbound("sms", "forbidden")
        return _text("forbidden", 403)
    try:
        received = sms.parse(request.form.to_dict())
    except ValueError:
        metrics.inbound("sms", "malformed")
        return _text("malformed", 400)
    runtime = runtime_of(current_app)
    try:
        # The inbox counts it: accepted, or a duplicate of one already recorded.
        runtime.inbox.receive(received)
    except Exception as error:
        # 200 with the safe reply, not a 5xx. Twilio never retries an inbound message (a
        # 5xx only sends it to the number's fallback URL, if one is set), so an error
        # would leave the person with no answer at all. A retry would be better for the
        # record (the message would be stored once the database is back), but telling
        # someone who may be in danger where to get help comes first: their message is
        # not stored, the failure is counted and logged without their words, and the
        # reply asks them to send it again.
        safety.log_failure("sms", error)
        metrics.inbound("sms", "error")
        reply = MessagingResponse()
        reply.message(safety.fallback(runtime.content))
        return Response(str(reply), mimetype="text/xml")
    return Response(EMPTY_TWIML, mimetype="text/xml")


@blueprint.post("/webhooks/twilio/status")
def status() -> Response:
    """Record how far a sent message got, never letting a late status move it back."""
    if not _verified():
        return _text("forbidden", 403)
    sid = request.form.get("MessageSid", "")
    new = request.form.get("MessageStatus", "")
    if not sid or new not in STATUS_RANK:
        return _text("malformed", 400)
    code = request.form.get("ErrorCode", "")
    with session_scope(runtime_of(current_app).engine) as session:
        row = session.exec(
            select(OutboxMessage).where(OutboxMessage.provider_message_id == sid)).first()
        if row is None:
            return _text("unknown message", 200)  # not ours, or already purged
        if STATUS_RANK[new] > STATUS_RANK.get(row.delivery_status or "", -1):
            row.delivery_status = new
            if new in ("failed", "undelivered"):
                row.status, row.last_error = "failed", f"twilio {code or new}"
            elif new == "delivered":
                row.status = "delivered"
            session.add(row)
        if code in PERMANENT_CODES and row.contact_id is not None:
            mark_unreachable(session, row.contact_id, runtime_of(current_app).inbox.clock())
    return _text("ok", 200)
