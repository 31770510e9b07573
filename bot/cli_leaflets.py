"""`adref leaflet link`: the Telegram deep link printed on an area's leaflet.

Registered on the `adref` group in bot/cli.py with `main.add_command(cli_leaflets.leaflet)`.
The link's format is in bot/leaflets.py and docs/leaflets.md.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click
from telegram.error import InvalidToken, TelegramError

from bot import leaflets
from bot.channels import telegram as tg
from bot.config import ConfigError, Settings
from bot.content import LANGS, ContentError, load


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ, Path.cwd())
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def _bot_username(settings: Settings) -> str:
    """The bot's username, as Telegram's getMe gives it for TELEGRAM_BOT_TOKEN."""
    if not settings.telegram_bot_token:
        raise click.ClickException("give --bot-username, or set TELEGRAM_BOT_TOKEN so it can "
                                   "be asked of Telegram")
    bot = tg.make_bot(settings.telegram_bot_token, settings.telegram_api_base_url)

    async def ask() -> str:
        async with bot:  # initialising the Bot calls getMe
            return bot.username

    try:
        return asyncio.run(ask())
    except InvalidToken as error:
        raise click.ClickException("Telegram refused TELEGRAM_BOT_TOKEN") from error
    except TelegramError as error:
        raise click.ClickException(f"Telegram said: {error.message}") from error


@click.group()
def leaflet() -> None:
    """Printed leaflets: links that open the bot with the reader's area already known."""


@leaflet.command("link")
@click.option("--area", "code", required=True,
              help="The area's code from content/areas.yaml, e.g. cardiff or vale_of_glamorgan.")
@click.option("--bot-username",
              help="The bot's Telegram username.  [default: asked of Telegram (getMe) with "
                   "TELEGRAM_BOT_TOKEN]")
def link(code: str, bot_username: str | None) -> None:
    """Print the deep link for an area's leaflet, in Welsh and in English."""
    settings = _settings()
    try:
        content = load(settings.content_dir)
    except (ContentError, OSError) as error:
        raise click.ClickException(f"cannot read the content: {error}") from error
    area = content.area(code)
    if area is None:
        codes = ", ".join(a.code for a in content.areas)
        raise click.ClickException(f"no area {code!r}; the codes are: {codes}")
    username = bot_username or _bot_username(settings)
    for lang in LANGS:  # Welsh first
        click.echo(f"{lang}  {leaflets.link(username, area, lang)}")
