"""Dates and times in Welsh and English, through Babel's CLDR data, in Wales's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel import dates

WALES = ZoneInfo("Europe/London")


def format_date(moment: datetime, lang: str) -> str:
    """A day as people say it: "dydd Sadwrn 21 Tachwedd" / "Saturday 21 November"."""
    day = dates.format_date(moment.astimezone(WALES), "EEEE d MMMM", locale=lang)
    # CLDR capitalises Welsh day names ("Dydd Sadwrn"); mid-sentence Welsh writes "dydd".
    return day[:1].lower() + day[1:] if lang == "cy" else day


def format_datetime(moment: datetime, lang: str) -> str:
    """A day and time of day in Wales, e.g. "Saturday 21 November, 14:30"."""
    local = moment.astimezone(WALES)
    return f"{format_date(local, lang)}, {dates.format_time(local, 'HH:mm', locale=lang)}"


def format_duration(length: timedelta, lang: str) -> str:
    """A length of time in two units at most: "2 days 4 hours", "2 ddiwrnod 4 awr"."""
    minutes = max(int(abs(length).total_seconds()) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [timedelta(days=days), timedelta(hours=hours)] if days else (
        [timedelta(hours=hours), timedelta(minutes=minutes)] if hours
        else [timedelta(minutes=minutes)])
    # threshold=1 keeps each part in its own unit (Babel would turn 48 hours into days).
    shown = [dates.format_timedelta(p, threshold=1, locale=lang) for p in parts if p]
    return " ".join(shown) or dates.format_timedelta(timedelta(0), locale=lang)
