"""Sending SMS through Twilio: the twilio library's own Client, run off the event loop.

The Client is synchronous (requests), so each send runs in a worker thread; its HTTP
client keeps one session, so connections to Twilio are kept alive between sends. In
tests and benchmarks TWILIO_API_BASE_URL points the same Client at a fake on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.channels.sms import fit, render
from bot.engine import Reply
from bot.outbox import Outgoing, TransportError

log = logging.getLogger(__name__)

# A send that takes longer has failed; the outbox will try again.
TIMEOUT_SECONDS = 10.0
POOL_SIZE = 32
# Errors about the recipient: sending again can never succeed.
RECIPIENT_ERRORS = {
    21610: "the recipient opted out (STOP)",
    21211: "not a valid phone number",
    21614: "not a mobile number",
    21612: "the number cannot receive SMS",
}


class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """Twilio's HTTP client, sending what is meant for *.twilio.com to base_url instead.

    It also remembers, per thread, the headers of its last response: the twilio library
    drops them from its exceptions, and a 429's Retry-After is among them.
    """

    def __init__(self, base_url: str | None = None, *, timeout: float = TIMEOUT_SECONDS,
                 pool_size: int = POOL_SIZE) -> None:
        super().__init__(pool_connections=True, timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None
        self._local = threading.local()
        # No retries inside requests: a repeated POST could send the text twice, and the
        # outbox already retries with backoff.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def request(self, method: str, url: str, params: Any = None, data: Any = None,
                headers: Any = None, auth: Any = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Any:
        """Make the request, at base_url when it is set."""
        self._local.headers = {}
        response = super().request(method, self._redirect(url), params, data, headers, auth,
                                   timeout, allow_redirects)
        self._local.headers = dict(response.headers or {})
        return response

    def last_headers(self) -> Mapping[str, str]:
        """The headers of this thread's last response."""
        headers: Mapping[str, str] = getattr(self._local, "headers", {})
        return headers

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.session.close()

    def _redirect(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not self.base_url or not (host == "twilio.com" or host.endswith(".twilio.com")):
            return url
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")


class TwilioSender:
    """Sends outbox messages as SMS, numbered options and all, within the segment ceiling."""

    def __init__(self, account_sid: str, auth_token: str, sender: str,
                 api_base: str | None = None, public_base_url: str | None = None, *,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.http = RedirectingHttpClient(api_base, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        # A messaging service (MG...) picks the sending number itself.
        self.origin = ({"messaging_service_sid": sender} if sender.startswith("MG")
                       else {"from_": sender})
        self.status_callback = (f"{public_base_url}/webhooks/twilio/status"
                                if public_base_url else None)

    async def start(self) -> None:
        """Nothing to open: the session connects on first use."""

    async def stop(self) -> None:
        """Close the kept-alive connections."""
        self.http.close()

    async def send(self, message: Outgoing) -> str:
        """Send one message; return Twilio's message SID."""
        body = fit(render(Reply(message.text, message.options), message.language))
        return await asyncio.to_thread(self._create, message.recipient, body)

    def _create(self, to: str, body: str) -> str:
        extra: dict[str, str] = dict(self.origin)
        if self.status_callback:
            extra["status_callback"] = self.status_callback
        try:
            created = self.client.messages.create(to=to, body=body, **extra)
        except (TwilioRestException, TwilioServiceException) as error:
            raise transport_error(error.status, error.code, self.http.last_headers()) from None
        except requests.RequestException as error:
            # Refused, reset or timed out: Twilio may or may not have it; try again later.
            raise TransportError(f"twilio unreachable: {type(error).__name__}") from None
        sid: str = created.sid
        return sid


def transport_error(status: int, code: int | None,
                    headers: Mapping[str, str] | None = None) -> TransportError:
    """What a Twilio error means for the outbox: retry later, or never.

    The message names the status and code only: Twilio's own words can quote the number.
    """
    what = f"twilio HTTP {status}" + (f" error {code}" if code and code != status else "")
    if code in RECIPIENT_ERRORS:
        return TransportError(f"{what}: {RECIPIENT_ERRORS[code]}", unreachable=True)
    if status == 429:
        return TransportError(f"{what}: too many requests",
                              retry_after=retry_after(dict(headers or {})))
    if status == 401:
        # Our credentials are wrong, not the person unreachable: marking this permanent
        # would mark everyone who texts in unreachable. Retry, and let the log say so.
        log.error("twilio refused the credentials; check TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN")
        return TransportError(f"{what}: credentials refused")
    if 400 <= status < 500 and status != 408:
        # The same request would be refused again, however often it was sent.
        return TransportError(what, permanent=True)
    return TransportError(what)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), if there is one."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
