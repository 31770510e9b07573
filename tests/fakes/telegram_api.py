"""A fake Telegram Bot API: point TELEGRAM_API_BASE_URL (the Bot's base_url) at it.

python-telegram-bot's HTTPXRequest posts each method's parameters form-encoded, with
every value that is not a string JSON-encoded (reply_markup, allowed_updates); a file
upload would be multipart, which Adref never sends. JSON bodies are read too, as a local
Bot API server does.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from typing import Any, ClassVar

from tests.fakes import DEFAULT_HANG_SECONDS, FakeAPI, Request, Response

TEST_TOKEN = "123456:TEST-token_for-the-fake"
_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
# Parameters that python-telegram-bot sends JSON-encoded inside a form.
_JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "link_preview_options",
                "reply_parameters"}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64

_FAILURES: dict[str, tuple[int, str]] = {
    "500": (500, "Internal Server Error"),
    "429": (429, "Too Many Requests: retry after {retry_after}"),
    "403": (403, "Forbidden: bot was blocked by the user"),
    "400": (400, "Bad Request: chat not found"),
}


class FakeTelegramAPI(FakeAPI):
    """getMe, sendMessage, answerCallbackQuery and the webhook methods, on loopback."""

    FAILURES: ClassVar[tuple[str, ...]] = (*_FAILURES, "timeout")

    def __init__(self, token: str = TEST_TOKEN, *, retry_after: int = 3,
                 hang: float = DEFAULT_HANG_SECONDS) -> None:
        super().__init__(hang=hang)
        self.token = token
        self.retry_after = retry_after
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Adref",
                         "username": "adref_test_bot", "can_join_groups": False,
                         "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.webhook: dict[str, Any] = {}
        self._message_ids = itertools.count(1)
        self._lock = threading.Lock()

    def route(self, request: Request) -> Response:
        """Answer one Bot API call."""
        match = _PATH.match(request.path)
        if match is None:
            return _error(404, "Not Found")
        params: dict[str, Any] = {**request.query, **request.form()}
        for name in _JSON_PARAMS & params.keys():
            if isinstance(params[name], str):
                params[name] = _json(params[name])
        method = match["method"]
        self.record(method, params)
        if match["token"] != self.token:
            return _error(401, "Unauthorized")
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result: Response = handler(params)
        return result

    def _getMe(self, params: dict[str, Any]) -> Response:
        return _ok(self.bot_user)

    def _sendMessage(self, params: dict[str, Any]) -> Response:
        failure = self.next_failure()
        if failure == "timeout":
            return Response(hang=True)
        if failure is not None:
            status, description = _FAILURES[failure]
            extra = {"parameters": {"retry_after": self.retry_after}} if failure == "429" else {}
            return _error(status, description.format(retry_after=self.retry_after), **extra)
        text, chat = str(params.get("text") or ""), str(params.get("chat_id") or "")
        if not chat:
            return _error(400, "Bad Request: chat_id is empty")
        if not text:
            return _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data", ""))
                if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA or not button.get("text"):
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        with self._lock:
            message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()), "text": text,
            "from": self.bot_user,
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else chat, "type": "private"},
        }
        if markup:
            message["reply_markup"] = markup
        return _ok(message)

    def _answerCallbackQuery(self, params: dict[str, Any]) -> Response:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired")
        return _ok(True)

    def _setWebhook(self, params: dict[str, Any]) -> Response:
        if not str(params.get("url", "")).startswith(("https://", "http://")):
            return _error(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        with self._lock:
            self.webhook = {k: params[k] for k in ("url", "secret_token", "allowed_updates",
                                                   "max_connections") if k in params}
        return _ok(True, "Webhook was set")

    def _deleteWebhook(self, params: dict[str, Any]) -> Response:
        with self._lock:
            self.webhook = {}
        return _ok(True, "Webhook was deleted")

    def _getWebhookInfo(self, params: dict[str, Any]) -> Response:
        with self._lock:
            webhook = dict(self.webhook)
        info: dict[str, Any] = {"url": webhook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": 0}
        if webhook:
            info["max_connections"] = int(webhook.get("max_connections", 40))
            info["allowed_updates"] = webhook.get("allowed_updates") or []
        return _ok(info)


def _ok(result: object, description: str | None = None) -> Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return Response(200, body)


def _error(status: int, description: str, **extra: object) -> Response:
    return Response(status, {"ok": False, "error_code": status, "description": description,
                             **extra})


def _json(value: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        return value
