"""Dates and times in Welsh and English, through Babel's CLDR data, in Wales's time zone."""

from __future__ import annotations

from datetime import datetime
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
