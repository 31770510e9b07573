"""SMS: replies rendered as text messages, counted in segments as the networks bill them.

A message in the GSM-7 alphabet fits 160 characters in one SMS, 153 per segment when
split. One character outside it (â ê î ô û ŵ ŷ, which Welsh needs) makes the whole
message UCS-2: 70 in one, 67 per segment. Welsh letters are never stripped ("tân" is
fire, "tan" is until), so Welsh is budgeted in UCS-2; English is kept in GSM-7 by
replacing curly quotes and non-breaking spaces, which would otherwise double its cost.

Inbound texts arrive as Twilio's webhook form; sending is in bot/channels/twilio.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from bot.channels import Received
from bot.engine import Reply

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = "^{}\\[~]|€\f"  # each costs two septets
GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
CHANNEL = "sms"
# Numbers written without a country code are read as UK numbers.
DEFAULT_REGION = "GB"
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{2,30}")
# The most segments one reply may cost. Long enough for the longest single message a
# young person needs (the consent explanation: 640 characters, 10 UCS-2 segments in
# Welsh, so only 30 to spare), short enough that a runaway reply can't cost pounds.
# Longer replies are cut at a line; `adref sms budget` shows where each one stands.
MAX_SEGMENTS = 10
_ENGLISH_SAFE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ",
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u202f": " ",
})


@dataclass(frozen=True)
class Segments:
    """How a text will travel: its encoding, its length in units, and its segment count."""

    encoding: str
    units: int
    count: int


def is_gsm(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet (basic or extension)."""
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text)


def segments(text: str) -> Segments:
    """Count the segments of one message by GSM-7 or UCS-2 rules."""
    if is_gsm(text):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, part, encoding = GSM_SINGLE, GSM_PART, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP costs two.
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    count = 1 if units <= single else -(-units // part)
    return Segments(encoding, units, count)


def clean(text: str, lang: str | None) -> str:
    """NFC-normalised; in English, curly quotes and odd spaces made plain for GSM-7."""
    text = unicodedata.normalize("NFC", text)
    if lang == "en":
        text = text.translate(_ENGLISH_SAFE)
    return text


def render(reply: Reply, lang: str | None) -> str:
    """A reply as SMS text with its choices as numbered lines."""
    lines = [reply.text]
    if reply.options:
        lines.append("")
        lines.extend(f"{n} {option.label}" for n, option in enumerate(reply.options, start=1))
    return clean("\n".join(lines), lang)


def fit(text: str, limit: int = MAX_SEGMENTS) -> str:
    """The text cut at a line or sentence so it costs at most `limit` segments."""
    if segments(text).count <= limit:
        return text
    while segments(text).count > limit:
        cut = max(text.rfind("\n", 0, len(text) - 1), text.rfind(". ", 0, len(text) - 1))
        text = text[:cut].rstrip() if cut > 0 else text[: len(text) * 9 // 10]
    return text


def split(reply: Reply, lang: str | None, limit: int = MAX_SEGMENTS) -> list[Reply]:
    """A reply as one or more, split between paragraphs (or lines, or sentences), each
    within `limit` segments once rendered; the choices go with the last part."""
    if segments(render(reply, lang)).count <= limit:
        return [reply]
    pieces = [q for p in reply.text.split("\n\n") if p for q in _smaller(p, lang, limit)]
    parts = _pack(pieces, "\n\n", lang, limit)
    last = Reply(parts[-1], reply.options, reply.urgent)
    if segments(render(last, lang)).count > limit:  # no room left for the choices
        return [*(Reply(p, urgent=reply.urgent) for p in parts), Reply("", reply.options)]
    return [*(Reply(p, urgent=reply.urgent) for p in parts[:-1]), last]


def _pack(units: list[str], separator: str, lang: str | None, limit: int) -> list[str]:
    """Join neighbouring units while the result still fits the limit."""
    out: list[str] = []
    for unit in units:
        joined = f"{out[-1]}{separator}{unit}" if out else unit
        if out and segments(clean(joined, lang)).count <= limit:
            out[-1] = joined
        else:
            out.append(unit)
    return out


def _smaller(piece: str, lang: str | None, limit: int) -> list[str]:
    """One paragraph in parts that fit: whole if it can be, else by lines, else sentences."""
    if segments(clean(piece, lang)).count <= limit:
        return [piece]
    for separator in ("\n", ". "):
        units = piece.split(separator)
        if len(units) > 1:
            out = _pack(units, separator, lang, limit)
            if all(segments(clean(o, lang)).count <= limit for o in out):
                return out
    return [fit(piece, limit)]


_SID = re.compile(r"[A-Za-z0-9]{1,64}")


def parse(form: Mapping[str, str]) -> Received:
    """An inbound text from Twilio's webhook form; ValueError without MessageSid or From."""
    sid, sender = form.get("MessageSid", "").strip(), form.get("From", "").strip()
    if not sid or not sender:
        raise ValueError("an inbound SMS needs MessageSid and From")
    # Twilio's ids are letters and digits; anything else (a NUL byte, which PostgreSQL
    # refuses in text) is not from Twilio and is refused before it reaches the database.
    if not _SID.fullmatch(sid):
        raise ValueError("MessageSid is not a Twilio message id")
    # A picture message (MMS): the picture is never fetched, and its words go with it,
    # as a Telegram photo's caption does.
    media = _count(form.get("NumMedia")) > 0
    return Received(channel=CHANNEL, address=e164(sender), provider_id=sid,
                    text="" if media else form.get("Body", ""), media=media)


def e164(number: str) -> str:
    """The number in E.164 (+447700900123) when it reads as one; otherwise as given.

    The address is what a contact is found by, so one phone must always give the same
    string. Twilio sends E.164 already; a number without "+" is taken as British only
    if it is a valid one, so a short code (80800) or a name passes unchanged, and
    replies go back to exactly what wrote.
    """
    if not _PHONE.fullmatch(number):
        return number  # "whatsapp:+44...", an alphanumeric sender: not ours to rewrite
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return number
    readable = (phonenumbers.is_possible_number(parsed) if number.startswith("+")
                else phonenumbers.is_valid_number(parsed))
    if not readable:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _count(value: str | None) -> int:
    """A count from a form field; zero when it is missing or not a number."""
    try:
        return int(value or 0)
    except ValueError:
        return 0
