"""Who else to talk to: services from the directory, those open right now first."""

from __future__ import annotations

from datetime import datetime, time

from bot.content import Content, Service, service_card
from bot.i18n import WALES

# The services a young person is shown, in the order the All Wales Practice Guide gives
# them, then the others that fit. 999 and 101 always come first, outside this list.
YOUNG_PERSON = ("meic", "childline", "childrens_commissioner", "missing_people", "samaritans")
CARER = ("family_point_cymru", "dewis_cymru", "nspcc_helpline")


def open_rank(service: Service, now: datetime) -> int:
    """0 if open now, 1 if its hours aren't known, 2 if closed now."""
    spec = service.open.split()
    if spec == ["always"]:
        return 0
    if len(spec) != 2:
        return 1
    days, span = spec
    local = now.astimezone(WALES)
    if days == "weekdays" and local.weekday() >= 5:
        return 2
    start_s, end_s = span.split("-")
    start, end = _clock(start_s), _clock(end_s)
    now_time = local.time()
    opened = start is None or start <= now_time
    return 0 if opened and (end is None or now_time < end) else 2


def _clock(hhmm: str) -> time | None:
    """A time of day; "24:00" (midnight at the end of the day) is None, meaning no end."""
    if hhmm == "24:00":
        return None
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def ordered(content: Content, ids: tuple[str, ...], now: datetime) -> list[Service]:
    """The services, open ones first, otherwise in their given order."""
    services = [content.services[i] for i in ids]
    return sorted(services, key=lambda s: open_rank(s, now))  # sorted() is stable


def cards(content: Content, lang: str, ids: tuple[str, ...], now: datetime) -> list[str]:
    """Each service's card in one language, open ones first."""
    return [service_card(content, lang, s) for s in ordered(content, ids, now)]
