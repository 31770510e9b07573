"""Telegram: updates parsed with python-telegram-bot, replies sent by one long-lived Bot.

Only private chats are served: a young person's conversation must never happen where
others can read it, so group messages, channel posts and edits are ignored. A pressed
button arrives as a callback; its label is looked up in the message it was pressed on,
so the engine reads it like typed text, with the option key as the payload.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
    WebhookInfo,
)
from telegram.constants import ChatType, InlineKeyboardButtonLimit, MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels import Received
from bot.engine import Option
from bot.outbox import Outgoing, TransportError

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# The updates the webhook asks for; Telegram sends no others.
ALLOWED_UPDATES = ("message", "callback_query")
# The dispatcher sends a batch at once; one pool of connections serves it all.
POOL_SIZE = 32
# What Telegram accepts as a webhook's secret_token.
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TelegramInbound:
    """One update as Adref reads it: the message, and what only Telegram needs back."""

    received: Received
    # A pressed button must be answered, or its spinner turns until Telegram gives up.
    callback_query_id: str | None = None
    # No text: a photo, sticker, voice note, video, file, location, venue or contact.
    # What it carried (and any caption) is never kept or logged, only that it came.
    media: bool = False


def parse(data: dict[str, Any]) -> TelegramInbound | None:
    """A private message or button press; None for other updates; ValueError if malformed."""
    if not isinstance(data, dict) or not _is_int(data.get("update_id")):
        raise ValueError("an update needs an integer update_id")
    try:
        update = Update.de_json(data, None)
    except Exception as error:
        # The library's parsers trust their input and fail in many ways on anything else
        # (a string for an object, a missing date, a date past the year 9999). Only the
        # error's type is kept: its message could quote what the person sent.
        raise ValueError(f"malformed update: {type(error).__name__}") from None
    if update.callback_query is not None:
        return _callback(update.update_id, update.callback_query)
    if update.message is not None:
        return _message(update.update_id, update.message)
    return None  # edits, channel posts, membership changes: nothing to answer


def _message(update_id: int, message: Message) -> TelegramInbound | None:
    chat = _private_chat_id(message)
    if chat is None:
        return None
    text = message.text
    if not isinstance(text, str | None):
        raise ValueError("message text must be a string")
    media = text is None  # a caption goes with its photo, unread
    received = _received(update_id, chat, text or "", None, message.from_user, media=media)
    return TelegramInbound(received, media=media)


def _callback(update_id: int, query: CallbackQuery) -> TelegramInbound | None:
    if not isinstance(query.id, str) or not isinstance(query.data, str | None):
        raise ValueError("a callback query needs a string id and data")
    message = query.message
    chat = _private_chat_id(message) if message is not None else None
    if chat is None or query.data is None:
        return None  # a button on an inline-mode message, or a game: not ours
    markup = getattr(message, "reply_markup", None)
    label = _label(markup, query.data) if isinstance(markup, InlineKeyboardMarkup) else None
    received = _received(update_id, chat, label or query.data, query.data, query.from_user)
    return TelegramInbound(received, callback_query_id=query.id)


def _received(update_id: int, chat: int, text: str, payload: str | None, user: User | None,
              *, media: bool = False) -> Received:
    hint = user.language_code if user is not None else None
    return Received(channel=CHANNEL, address=str(chat), provider_id=str(update_id), text=text,
                    payload=payload, lang_hint=hint if isinstance(hint, str) else None,
                    media=media)


def _private_chat_id(message: object) -> int | None:
    chat = getattr(message, "chat", None)
    if chat is None or chat.type != ChatType.PRIVATE:
        return None
    if not _is_int(chat.id):
        raise ValueError("a chat id must be an integer")
    chat_id: int = chat.id
    return chat_id


def _label(markup: InlineKeyboardMarkup, data: str) -> str | None:
    for row in markup.inline_keyboard:
        for button in row:
            if isinstance(button, InlineKeyboardButton) and button.callback_data == data:
                return button.text if isinstance(button.text, str) and button.text else None
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def keyboard(options: Sequence[Option]) -> InlineKeyboardMarkup | None:
    """The options as inline buttons, one to a row so long Welsh labels are never cut."""
    if not options:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(option.label, callback_data=_callback_data(option.key))]
         for option in options])


def _callback_data(key: str) -> str:
    """The key, cut to Telegram's 64 bytes at a character boundary.

    Option keys are short names, so a cut is a bug to hear about, not a failure to send:
    the press still works, because the button's label is what the engine reads.
    """
    limit = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    raw = key.encode("utf-8")
    if len(raw) <= limit:
        return key
    log.warning("option key longer than Telegram allows; cut", extra={"bytes": len(raw)})
    return raw[:limit].decode("utf-8", "ignore")


def make_bot(token: str, api_base: str | None = None, *, timeout: float = TIMEOUT_SECONDS,
             pool_size: int = POOL_SIZE) -> Bot:
    """A Bot for Telegram's API, or for a local Bot API server (or a fake) at api_base."""
    request = HTTPXRequest(connection_pool_size=pool_size, connect_timeout=timeout,
                           read_timeout=timeout, write_timeout=timeout,
                           # Waiting for a free connection is only queueing, not failure.
                           pool_timeout=timeout * 3)
    if api_base:
        return Bot(token, base_url=f"{api_base}/bot", base_file_url=f"{api_base}/file/bot",
                   request=request)
    return Bot(token, request=request)


class TelegramSender:
    """Sends outbox messages with one Bot, inside the dispatcher's one event loop."""

    def __init__(self, token: str, api_base: str | None = None, *,
                 timeout: float = TIMEOUT_SECONDS, pool_size: int = POOL_SIZE) -> None:
        self.bot = make_bot(token, api_base, timeout=timeout, pool_size=pool_size)

    async def start(self) -> None:
        """Open the connection pool and check the token (getMe)."""
        await self.bot.initialize()

    async def stop(self) -> None:
        """Close the connection pool, even if start() never ran or failed part way."""
        await self.bot.shutdown()
        # shutdown() does nothing for a Bot that was never initialised, but sending
        # without start() opens connections all the same.
        await self.bot.request.shutdown()

    async def send(self, message: Outgoing) -> str:
        """Send one message with its options as buttons; return Telegram's message id."""
        try:
            sent = await self.bot.send_message(chat_id=message.recipient, text=_fit(message.text),
                                               reply_markup=keyboard(message.options))
        except TelegramError as error:
            raise transport_error(error) from None
        return str(sent.message_id)

    async def answer_callback(self, callback_query_id: str) -> bool:
        """Stop a pressed button's spinner; False if Telegram would not take the answer.

        Never retried: a button's answer is cosmetic and expires within seconds.
        """
        try:
            return await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as error:
            log.info("callback query not answered", extra={"error": type(error).__name__})
            return False


def transport_error(error: TelegramError) -> TransportError:
    """What a Bot API error means for the outbox: retry later, or never."""
    if isinstance(error, RetryAfter):
        return TransportError("telegram flood control", retry_after=_seconds(error))
    if isinstance(error, Forbidden):
        # The person blocked the bot or deleted their account: nothing will ever arrive.
        return TransportError(f"telegram forbidden: {error.message}", unreachable=True)
    if isinstance(error, BadRequest):
        if "chat not found" in error.message.lower():
            return TransportError("telegram chat not found", unreachable=True)
        # The same request would be refused again, however often it was sent.
        return TransportError(f"telegram bad request: {error.message}", permanent=True)
    if isinstance(error, ChatMigrated):
        return TransportError("telegram chat migrated to a group", permanent=True)
    if isinstance(error, InvalidToken):
        # Our token is wrong, not the person unreachable: retry, and let the log say so.
        log.error("telegram refused the bot token; check TELEGRAM_BOT_TOKEN")
        return TransportError("telegram refused the bot token")
    if isinstance(error, TimedOut):
        return TransportError("telegram timed out")
    if isinstance(error, NetworkError):
        return TransportError(f"telegram network error: {error.message}")
    return TransportError(f"telegram error: {type(error).__name__}")


def _seconds(error: RetryAfter) -> float:
    # An int in python-telegram-bot 22 (reading it gives a deprecation warning), a
    # timedelta with PTB_TIMEDELTA=true and from the next major version on.
    wait: int | float | timedelta = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def _fit(text: str) -> str:
    """The text cut at a line to Telegram's 4096-character limit.

    A longer text is refused as a bad request, which would mark the person unreachable.
    """
    limit = MessageLimit.MAX_TEXT_LENGTH
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    cut = text[:limit]
    # Counted in UTF-16 units, as Telegram does: an emoji takes two.
    while len(cut.encode("utf-16-le")) // 2 > limit:
        cut = cut[:-1]
    line = cut.rfind("\n")
    return cut[:line].rstrip() if line > 0 else cut


# The webhook, for `adref telegram ...`.


async def set_webhook(bot: Bot, url: str, secret: str) -> bool:
    """Ask Telegram to post private messages and button presses to url, with the secret."""
    if not SECRET_TOKEN.fullmatch(secret):
        raise ValueError("a webhook secret is 1 to 256 of A-Z, a-z, 0-9, _ and -")
    return await bot.set_webhook(url=url, secret_token=secret,
                                 allowed_updates=list(ALLOWED_UPDATES))


async def delete_webhook(bot: Bot) -> bool:
    """Stop Telegram posting updates; any it holds stay queued for a new webhook."""
    return await bot.delete_webhook(drop_pending_updates=False)


async def webhook_info(bot: Bot) -> WebhookInfo:
    """Where Telegram posts updates, how many wait, and the last delivery error."""
    return await bot.get_webhook_info()
