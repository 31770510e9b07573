"""The dashboard's front page, the queue; and the Cymraeg / English switch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from bot import queue
from bot.content import LANGS
from bot.db import session_scope
from bot.i18n import format_duration
from bot.models import Practitioner
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import (
    current_actor,
    current_practitioner,
    current_team,
    login_required,
    now,
    runtime,
    signed_in,
)
from webhooks.dashboard.pages import langs_for, render, safe_next

T = TypeVar("T")
FILTERS = ("status", "area", "overdue", "urgent")


@blueprint.get("")
@login_required
def home() -> tuple[str, int]:
    """The queue: the requests this practitioner may see, filtered by the address's query."""
    practitioner = current_practitioner()
    team = current_team()
    actor = current_actor()
    areas = queue.area_choices(actor, [a.code for a in runtime().content.areas])
    filters = queue.Filters(
        status=_choice(request.args.get("status"), queue.STATUS_CHOICES, queue.OPEN),
        area=_choice(request.args.get("area"), areas, None),
        overdue=request.args.get("overdue") == "1",
        urgent=request.args.get("urgent") == "1")
    number = _page_number(request.args.get("page"))
    at = now()
    with session_scope(runtime().engine) as db:
        found = queue.page(db, actor, filters, at, (number - 1) * queue.PAGE_SIZE)
    lang = practitioner.language

    def left(due_at: datetime) -> tuple[bool, str]:
        return due_at < at, format_duration(due_at - at, lang)

    def page_link(to: int) -> str:
        asked = {k: v for k, v in request.args.items() if k in FILTERS}
        return f"{url_for('dashboard.home')}?{urlencode({**asked, 'page': to})}"

    return render("home.html", langs_for(practitioner), practitioner=practitioner, team=team,
                  found=found, filters=filters, areas=areas, statuses=queue.STATUS_CHOICES,
                  unknown_area=queue.UNKNOWN_AREA, left=left, number=number,
                  page_link=page_link)


def _choice(value: str | None, allowed: Sequence[str], default: T) -> str | T:
    return value if value is not None and value in allowed else default


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 100_000))
    except ValueError:
        return 1


@blueprint.post("/language")
def language() -> Response:
    """Set the dashboard's language for this practitioner, on every device.

    Open half way through signing in too, so the code page can be read in either language.
    """
    signed = signed_in()
    if signed is None:
        return redirect(url_for("dashboard.sign_in"), 303)
    lang = request.form.get("lang")
    if lang in LANGS:
        with session_scope(runtime().engine) as db:
            db.get_one(Practitioner, signed.practitioner.id).language = lang
    back = safe_next(request.form.get("next"), url_for("dashboard.home"))
    return redirect(back, 303)
