"""Shared test data: channel credentials, and requests signed as the providers sign them."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

TG_TOKEN = "123456:TEST-token"
TG_SECRET = "webhook-secret-for-tests-0123456789"
TW_SID = "AC" + "0" * 32
TW_TOKEN = "twilio-auth-token-for-tests"
BASE = "https://adref.example.test"


def signed_sms(client: FlaskClient, body: str, sid: str, sender: str = "+447911123456",
               path: str = "/webhooks/twilio/sms", token: str = TW_TOKEN) -> Any:
    """POST an inbound SMS signed as Twilio signs it, for the public URL."""
    form = {"MessageSid": sid, "AccountSid": TW_SID, "From": sender, "To": "+447700900000",
            "Body": body, "NumMedia": "0"}
    signature = RequestValidator(token).compute_signature(BASE + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def telegram_update(update_id: int, text: str, chat_id: int = 4242) -> dict[str, Any]:
    """A private-chat text message update."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1763737200, "text": text,
        "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Sam", "language_code": "cy"}}}


def post_update(client: FlaskClient, update: dict[str, Any], secret: str | None = TG_SECRET
                ) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return client.post("/webhooks/telegram", json=update, headers=headers)


