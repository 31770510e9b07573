"""`adref telegram ...` and `adref sms ...`: the Telegram webhook, and what SMS costs.

Registered on the `adref` group in bot/cli.py with `main.add_command(...)`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click
import yaml
from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.channels import sms as smsmod
from bot.channels import telegram as tg
from bot.config import ConfigError, Settings
from bot.content import LANGS, Content, ContentError, load
from bot.engine import Context, CreateRequest, Inbound, Option, Reply, State, step

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ, Path.cwd())
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


# Telegram


@click.group()
def telegram() -> None:
    """Telegram: where its Bot API posts updates (TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL)."""


def _with_bot(settings: Settings, action: Callable[[Bot], Awaitable[T]]) -> T:
    """Run one action with a Bot for the configured API, opened and closed around it."""
    if not settings.telegram_bot_token:
        raise click.ClickException("TELEGRAM_BOT_TOKEN is not set (or TELEGRAM_BOT_TOKEN_FILE)")
    bot = tg.make_bot(settings.telegram_bot_token, settings.telegram_api_base_url)
    where = settings.telegram_api_base_url or "api.telegram.org"

    async def run() -> T:
        async with bot:  # getMe first: a wrong token fails here, plainly
            return await action(bot)

    try:
        return asyncio.run(run())
    except InvalidToken as error:
        raise click.ClickException(f"the Bot API at {where} refused TELEGRAM_BOT_TOKEN"
                                   ) from error
    except TelegramError as error:
        raise click.ClickException(f"the Bot API at {where} said: {error.message}") from error


@telegram.command("set-webhook")
@click.option("--url", help="Where Telegram should post updates.  "
                            "[default: PUBLIC_BASE_URL/webhooks/telegram]")
def set_webhook(url: str | None) -> None:
    """Ask Telegram to post messages and button presses to Adref, with the webhook secret."""
    settings = _settings()
    if url is None:
        if not settings.public_base_url:
            raise click.ClickException("set PUBLIC_BASE_URL, or give the address with --url")
        url = f"{settings.public_base_url}/webhooks/telegram"
    secret = settings.telegram_webhook_secret
    if not secret:
        # Without it, anyone who guessed the address could post updates as anybody.
        raise click.ClickException("TELEGRAM_WEBHOOK_SECRET is not set; the webhook refuses "
                                   "updates without it")
    if not tg.SECRET_TOKEN.fullmatch(secret):
        raise click.ClickException("TELEGRAM_WEBHOOK_SECRET must be 1 to 256 of A-Z, a-z, "
                                   "0-9, _ and -, as Telegram requires")
    _with_bot(settings, lambda bot: tg.set_webhook(bot, url, secret))
    click.echo(f"Telegram will post updates to {url}")


@telegram.command("delete-webhook")
def delete_webhook() -> None:
    """Stop Telegram posting updates; those waiting are kept for the next webhook."""
    _with_bot(_settings(), tg.delete_webhook)
    click.echo("Telegram will post no more updates until set-webhook is run again.")


@telegram.command("info")
def info() -> None:
    """Where Telegram posts updates, how many are waiting, and its last delivery error."""
    found = _with_bot(_settings(), tg.webhook_info)
    click.echo(f"URL:              {found.url or '(none: updates are not being posted)'}")
    click.echo(f"Pending updates:  {found.pending_update_count}")
    if found.allowed_updates:
        click.echo(f"Allowed updates:  {', '.join(found.allowed_updates)}")
    if found.max_connections:
        click.echo(f"Max connections:  {found.max_connections}")
    if found.last_error_date or found.last_error_message:
        when = f"{found.last_error_date:%Y-%m-%d %H:%M %Z}" if found.last_error_date else ""
        click.echo(f"Last error:       {when} {found.last_error_message or ''}".rstrip())
    else:
        click.echo("Last error:       none")


# SMS


@click.group()
def sms() -> None:
    """Text messages (Twilio)."""


@dataclass(frozen=True)
class Pick:
    """Choose an option by its number, as someone texting would."""

    key: str


Says = str | Pick
# A whole request, from a stranger's first text to the reference code.
RHI_BY_SMS: dict[str, tuple[Says, ...]] = {
    "cy": ("Helo", Pick("lang_cy"), Pick("young_person"), Pick("rhi"), Pick("yes"),
           Pick("yesterday"), "Abertawe", Pick("home"), Pick("text"), Pick("afternoon"),
           Pick("yes"), Pick("skip"), Pick("send")),
    "en": ("Hi", Pick("lang_en"), Pick("young_person"), Pick("rhi"), Pick("yes"),
           Pick("yesterday"), "Swansea", Pick("home"), Pick("text"), Pick("afternoon"),
           Pick("yes"), Pick("skip"), Pick("send")),
}
# A fixed clock and reference, so the numbers are the same on every run.
BUDGET_NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
SAMPLE_REFERENCE = "K7PM-4XQ2"


@dataclass(frozen=True)
class Texted:
    """One reply of a conversation by SMS: what prompted it, where it left off, its text."""

    says: str
    node: str
    text: str
    cut: bool  # a single sentence longer than the ceiling: its end was left off


def rhi_by_sms(content: Content, lang: str) -> list[Texted]:
    """Every SMS the engine sends during a whole request in one language, as sent."""
    state, texts, done = State(), [], False
    offered: tuple[Option, ...] = ()
    for says in RHI_BY_SMS[lang]:
        text = option_number(offered, says.key) if isinstance(says, Pick) else says
        ctx = Context(BUDGET_NOW, content, 72, new_reference=SAMPLE_REFERENCE)
        result = step(state, Inbound(text, smsmod.CHANNEL), ctx)
        language = result.state.lang or state.lang
        for reply in result.replies:
            # As the outbox queues it (split between paragraphs to fit the ceiling) and
            # TwilioSender sends it (numbered options, cleaned, cut only as a last resort).
            for part in smsmod.split(reply, language):
                whole = smsmod.render(part, language)
                sent = smsmod.fit(whole)
                texts.append(Texted(text, result.state.node, sent, cut=sent != whole))
        offered = next((r.options for r in reversed(result.replies) if r.options), ())
        state = result.state
        done = any(isinstance(e, CreateRequest) for e in result.effects)
    if not done:
        raise ValueError(f"the scripted request in {lang} no longer ends in a request")
    return texts


def option_number(offered: tuple[Option, ...], key: str) -> str:
    """What a person types to pick the option with this key: its number in the list."""
    keys = [option.key for option in offered]
    if key not in keys:
        raise ValueError(f"the script picks {key!r}, but the bot offered {keys}")
    return str(keys.index(key) + 1)


@sms.command()
def budget() -> None:
    """What each message costs by SMS, and a whole interview request in each language."""
    settings = _settings()
    try:
        content = load(settings.content_dir)
    except (ContentError, OSError, KeyError, ValueError, yaml.YAMLError) as error:
        raise click.ClickException(f"cannot load content: {error}") from error

    click.echo("Every message in the catalogs, as one SMS (placeholders unfilled):")
    _row("key", "lang", "encoding", "chars", "segments")
    for key in sorted(content.messages["en"]):
        for lang in LANGS:
            text = content.messages[lang].get(key)
            if text is not None:
                cost = _cost(smsmod.render(Reply(text), lang))
                over = cost[2] > smsmod.MAX_SEGMENTS
                _row(key, lang, *cost, note="  split into several texts" if over else "")

    totals = {}
    for lang in LANGS:
        try:
            texted = rhi_by_sms(content, lang)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"\nA return home interview request by SMS in {lang}, first text to reference:")
        _row("they send -> step", "lang", "encoding", "chars", "segments")
        for t in texted:
            _row(f"{t.says[:12]} -> {t.node}", lang, *_cost(t.text),
                 note="  CUT: over the ceiling" if t.cut else "")
        totals[lang] = (len(texted), sum(smsmod.segments(t.text).count for t in texted))

    click.echo("")
    for lang, name in (("cy", "Welsh"), ("en", "English")):
        messages, segments = totals[lang]
        click.echo(f"Full request by SMS in {name} ({lang}): {messages} messages, "
                   f"{segments} segments")
    click.echo(f"Per-reply ceiling: MAX_SEGMENTS = {smsmod.MAX_SEGMENTS} segments. It fits the "
               "longest reply a young person needs (the consent explanation in Welsh, "
               "UCS-2 at 67 characters a segment). A longer reply (the list of people to "
               "talk to, in Welsh) is sent as several texts split between paragraphs, so no "
               "helpline is ever cut off; only a single sentence longer than the ceiling "
               "would be cut, so a runaway reply can't cost pounds.")


def _cost(text: str) -> tuple[str, int, int]:
    counted = smsmod.segments(text)
    return counted.encoding, len(text), counted.count


def _row(label: str, lang: str, encoding: str, chars: object, segments: object,
         note: str = "") -> None:
    click.echo(f"{label:<34} {lang:<4} {encoding:<8} {chars!s:>5} {segments!s:>8}{note}")
