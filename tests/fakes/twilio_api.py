"""A fake Twilio REST API (Messages only): point TWILIO_API_BASE_URL at it.

The twilio library posts Messages.create form-encoded (To, From or MessagingServiceSid,
Body, StatusCallback) with HTTP basic auth of the account SID and auth token, and reads
errors from a JSON body with `code`, `message` and `status`, as this fake answers.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar

from bot.channels.sms import segments
from tests.fakes import DEFAULT_HANG_SECONDS, FakeAPI, Request, Response

TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "fake-twilio-auth-token"
_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")

_FAILURES: dict[str, tuple[int, int, str]] = {
    "500": (500, 20500, "Internal Server Error"),
    "429": (429, 20429, "Too Many Requests"),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "403": (403, 20403, "Forbidden"),
}


class FakeTwilioAPI(FakeAPI):
    """POST /2010-04-01/Accounts/<sid>/Messages.json, checked against one account's auth."""

    FAILURES: ClassVar[tuple[str, ...]] = (*_FAILURES, "timeout")

    def __init__(self, account_sid: str = TEST_ACCOUNT_SID, auth_token: str = TEST_AUTH_TOKEN,
                 *, retry_after: int = 5, hang: float = DEFAULT_HANG_SECONDS) -> None:
        super().__init__(hang=hang)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.retry_after = retry_after

    def route(self, request: Request) -> Response:
        """Answer one REST call."""
        match = _PATH.match(request.path)
        if match is None or request.verb != "POST":
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        auth = _basic_auth(request.headers.get("authorization", ""))
        self.record("Messages.create", request.form(), auth)
        if auth != (self.account_sid, self.auth_token) or match["sid"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        failure = self.next_failure()
        if failure == "timeout":
            return Response(hang=True)
        if failure is not None:
            status, code, message = _FAILURES[failure]
            headers = {"Retry-After": str(self.retry_after)} if failure == "429" else {}
            return _error(status, code, message, headers)
        return self._create(request.form())

    def _create(self, form: dict[str, str]) -> Response:
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if not body:
            return _error(400, 21602, "Message body is required.")
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC), usegmt=True)
        resource: dict[str, Any] = {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": sender,
            "messaging_service_sid": service, "body": body, "status": "queued",
            "num_segments": str(segments(body).count), "num_media": "0",
            "direction": "outbound-api", "api_version": "2010-04-01", "price": None,
            "price_unit": "GBP", "error_code": None, "error_message": None,
            "date_created": now, "date_updated": now, "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return Response(201, resource)


def _basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _error(status: int, code: int, message: str,
           headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"code": code, "message": message, "status": status,
                             "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                    headers or {})
