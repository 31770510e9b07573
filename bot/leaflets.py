"""The printed leaflet's Telegram deep link: an area's start parameter, and reading it back.

A leaflet for one area carries https://t.me/<bot>?start=<parameter>. Telegram opens the
bot and sends the message "/start <parameter>" for the person, so the bot knows which
area they live in without asking. English leaflets carry `area-<code>` (the code from
content/areas.yaml, with `-` for `_`), Welsh ones `ardal-<Welsh name>`: a link printed on
a Welsh leaflet reads in Welsh. See docs/leaflets.md.
"""

from __future__ import annotations

import re

from bot import text as textmod
from bot.content import LANGS, Area, Content

PREFIX = {"cy": "ardal-", "en": "area-"}
# What Telegram accepts as a start parameter: up to 64 of A-Z, a-z, 0-9, _ and -.
PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
# In a private chat the command is plain "/start"; "/start@bot" is what groups send.
_START = re.compile(r"\s*/start(?:@\w+)?\s+(\S+)\s*", re.ASCII | re.IGNORECASE)


def parameter(area: Area, lang: str) -> str:
    """The start parameter for an area's leaflet in one language, e.g. "ardal-caerdydd"."""
    if lang == "cy":
        return PREFIX["cy"] + _slug(area.cy)
    return PREFIX["en"] + area.code.replace("_", "-")


def link(bot_username: str, area: Area, lang: str) -> str:
    """The deep link printed on an area's leaflet in one language."""
    return f"https://t.me/{bot_username.removeprefix('@')}?start={parameter(area, lang)}"


def start_parameter(typed: str) -> str | None:
    """The parameter of a "/start <parameter>" message, or None for any other message."""
    found = _START.fullmatch(typed)
    return found.group(1) if found else None


def area_code(content: Content, given: str) -> str | None:
    """The area a start parameter names, or None if it names none (an old or mistyped link)."""
    wanted = given.lower().replace("_", "-")
    for area in content.areas:
        if any(wanted == parameter(area, lang) for lang in LANGS):
            return area.code
    return None


def _slug(name: str) -> str:
    # Telegram allows no accents or spaces: "Ynys Môn" becomes "ynys-mon".
    return re.sub(r"[^a-z0-9]+", "-", textmod.fold(name)).strip("-")
