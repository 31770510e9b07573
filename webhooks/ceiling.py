"""The benchmark's ceiling: the webhook routes with nothing behind them but the checks.

It verifies a request exactly as Adref does (Twilio's signature with RequestValidator,
Telegram's secret header in constant time), reads the body, and answers a constant. No
database, no engine, no outbox: under the same gunicorn settings and load, it is the most
that any Adref could do, so Adref's throughput is reported as a share of it. Only
bench/webhooks.py uses it; never deploy it.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

from bot.config import Settings
from webhooks.twilio import EMPTY_TWIML


def create_ceiling_app() -> Flask:
    """A Flask app that only checks signatures and answers a constant; no database."""
    settings = Settings.from_env(os.environ, Path.cwd())
    validator = RequestValidator(settings.twilio_auth_token or "")
    secret = (settings.telegram_webhook_secret or "").encode()
    base_url = settings.public_base_url or ""
    app = Flask(__name__)

    @app.post("/webhooks/twilio/sms")
    def sms() -> Response:
        query = request.query_string.decode()
        url = base_url + request.path + (f"?{query}" if query else "")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(url, request.form.to_dict(), signature):
            return Response("forbidden", status=403, mimetype="text/plain")
        return Response(EMPTY_TWIML, mimetype="text/xml")

    @app.post("/webhooks/telegram")
    def telegram() -> Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return Response('{"error":"forbidden"}', status=403, mimetype="application/json")
        # Adref must read the update; so does the ceiling, or it would be unfairly cheap.
        if not isinstance(request.get_json(silent=True), dict):
            return Response('{"error":"expected a JSON object"}', status=400,
                            mimetype="application/json")
        return Response('{"ok":true}', mimetype="application/json")

    return app
