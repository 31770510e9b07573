"""POST /webhooks/telegram: Telegram's updates, verified by the secret token it echoes back.

1. The X-Telegram-Bot-Api-Secret-Token header must equal TELEGRAM_WEBHOOK_SECRET,
   compared in constant time; anything else is 403 and nothing is written.
2. The update is parsed with python-telegram-bot's Update.de_json; a malformed one is 400.
3. The inbox records it under its update_id, runs the engine and writes the replies to
   the outbox in one transaction; a redelivered update_id has no second effect.
4. A pressed button is acknowledged in the webhook's own response (Telegram runs a method
   returned there), so the spinner stops without another round trip.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import replace

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from bot import metrics
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
    # The inbox counts it: accepted, or a duplicate of one already recorded.
    runtime_of(current_app).inbox.receive(replace(parsed.received, media=parsed.media))
    if parsed.callback_query_id:
        return jsonify(method="answerCallbackQuery", callback_query_id=parsed.callback_query_id)
    return jsonify(ok=True)
