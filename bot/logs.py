"""Where log records go: JSON lines in production, plain lines in development, redacted.

No log call in Adref passes a phone number, a chat id or anything a person wrote; the
Redact filter is the second line of defence, for what a library or an exception message
might carry. It over-matches on purpose: a log line that loses a harmless number costs
less than one that keeps a young person's.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import IO

from pythonjsonlogger.json import JsonFormatter

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# A Telegram bot token (its secret half would survive the digit rule), then E.164 and UK
# national numbers however they are spaced, then any run of six or more digits: a
# Telegram chat id, or a number written without spaces.
_SENSITIVE = re.compile(
    r"\d{6,}:[\w-]{30,}"
    r"|\+\d[\d \-]{5,}\d"
    r"|\b0\d{2,4}[ \-]?\d{3,4}[ \-]?\d{3,4}\b"
    r"|\d{6,}"
)
# Our own row numbers: they grow past six digits, and are never a number or a chat id.
_ROW_IDS = frozenset({"outbox_id"})
# What every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Libraries whose request logs carry the bot token (in Telegram's URLs), chat ids and
# message text below these levels: never let LOG_LEVEL=DEBUG switch them on.
_FLOORS = {"httpx": logging.WARNING, "httpcore": logging.WARNING,
           "twilio.http_client": logging.WARNING, "telegram": logging.INFO}
# Gunicorn's own loggers: they are sent through the root's handler like everyone else's.
_GUNICORN = ("gunicorn.error", "gunicorn.access")


def redact(text: str) -> str:
    """Replace anything that looks like a phone number, chat id or bot token."""
    return _SENSITIVE.sub(REDACTED, text)


def _scrub(key: str, value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return REDACTED if len(str(abs(value))) >= 6 and key not in _ROW_IDS else value
    if isinstance(value, Mapping):
        return {k: _scrub(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(key, v) for v in value]
    return value


class Redact(logging.Filter):
    """Redacts numbers from a record's message, extra fields, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler reports it as usual
            return True
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            # Rendered here, so that what the formatter prints is the redacted text.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in set(vars(record)) - _STANDARD:
            setattr(record, key, _scrub(key, getattr(record, key)))
        return True


class _Handler(logging.StreamHandler[IO[str]]):
    """Adref's handler; `configure` replaces an earlier one instead of adding a second."""


def handler(json: bool, stream: IO[str] | None = None) -> logging.Handler:
    """A redacting handler writing to stream (stderr): JSON objects or plain lines."""
    out = _Handler(stream if stream is not None else sys.stderr)
    if json:
        out.setFormatter(JsonFormatter(
            ["levelname", "name", "message", "process"], timestamp="time",
            rename_fields={"levelname": "level", "name": "logger"},
            # Welsh letters (ŵ, ŷ) stay readable rather than \u-escaped.
            json_ensure_ascii=False))
    else:
        out.setFormatter(logging.Formatter(TEXT_FORMAT))
    out.addFilter(Redact())
    return out


def configure(json: bool, level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send every logger's records, gunicorn's too, through one redacting handler.

    1. Replace the handler an earlier call installed (gunicorn calls this again on reload).
    2. Set the root level; hold the chatty HTTP libraries at their floors.
    3. Take gunicorn's own handlers away, so its lines go through ours.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler(json, stream))
    root.setLevel(level)
    for name, floor in _FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    for name in _GUNICORN:
        logger = logging.getLogger(name)
        for theirs in list(logger.handlers):
            logger.removeHandler(theirs)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
