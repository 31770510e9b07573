"""POST /webhooks/telegram: Telegram's updates, verified by the secret token it echoes back.

1. The X-Telegram-Bot-Api-Secret-Token header must equal TELEGRAM_WEBHOOK_SECRET,
   compared in constant time; anything else is 403 and nothing is written.
2. The update is parsed with python-telegram-bot's Update.de_json; a malformed one is 400.
3. The inbox records it under its update_id, runs the engine and writes the replies to
   the outbox in one transaction; a redelivered update_id has no second effect.
4. A pressed button is acknowledged in the webhook's own response (Telegram runs a method
   returned there), so the spinner stops without another round trip.
5. If handling the update fails (the database is gone, a bug in the engine), the fixed
   safe reply (bot/safety.py `fallback`: 999, Childline and Meic, Welsh then English) is
   sent the same way, as a sendMessage in the response: it needs no database.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import replace

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from bot import metrics, safety
from bot.channels import telegram
from webhooks import runtime_of

log = logging.getLogger(__name__)
blueprint = Blueprint("telegram", __name__)


@blueprint.post("/webhooks/telegram")
def webhook() -> Response | tuple[Response, int]:
    """Receive one update."""
    settings = runtime_of(current_app).settings
    secret = settings.telegram_webhook_secret
    if not settings.telegram_bot_token or not secret:
        return jsonify(error="telegram is not configured"), 404
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("telegram webhook refused: bad secret token")
        metrics.inbound("telegram", "forbidden")
        return jsonify(error="forbidden"), 403
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        metrics.inbound("telegram", "malformed")
        return jsonify(error="expected a JSON object"), 400
    try:
        parsed = telegram.parse(data)
    except ValueError:
        metrics.inbound("telegram", "malformed")
        return jsonify(error="malformed update"), 400
    if parsed is None:
        metrics.inbound("telegram", "ignored")
        return jsonify(ok=True)  # an update kind Adref doesn't handle: nothing to do
    runtime = runtime_of(current_app)
    try:
        # The inbox counts it: accepted, or a duplicate of one already recorded.
        runtime.inbox.receive(replace(parsed.received, media=parsed.media))
    except Exception as error:
        # 200 with the safe reply as the response's method call. Telegram would retry
        # a 5xx, which would be better for the record (the update would be stored once
        # the database is back), but it ignores the body of a failed response: the
        # person would hear nothing until then, maybe for hours. Someone who may be in
        # danger hears where to get help now; the update is not stored, the failure is
        # counted and logged without their words, and the reply asks them to send it
        # again. One method per response: a pressed button's spinner is left to time out.
        safety.log_failure("telegram", error)
        metrics.inbound("telegram", "error")
        return jsonify(method="sendMessage", chat_id=parsed.received.address,
                       text=safety.fallback(runtime.content))
    if parsed.callback_query_id:
        return jsonify(method="answerCallbackQuery", callback_query_id=parsed.callback_query_id)
    return jsonify(ok=True)
