"""Dates and times in Welsh and English, through Babel's CLDR data, in Wales's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel import dates

WALES = ZoneInfo("Europe/London")


def format_date(moment: datetime, lang: str) -> str:
    """A day as people say it: "dydd Sadwrn 21 Tachwedd" / "Saturday 21 November"."""
    return dates.format_date(moment.astimezone(WALES), "EEEE d MMMM", locale=lang)


def format_datetime(moment: datetime, lang: str) -> str:
    """A day and time of day in Wales, e.g. "Saturday 21 November, 14:30"."""
    local = moment.astimezone(WALES)
    day = dates.format_date(local, "EEEE d MMMM", locale=lang)
    return f"{day}, {dates.format_time(local, 'HH:mm', locale=lang)}"
