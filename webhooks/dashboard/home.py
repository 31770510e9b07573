"""The dashboard's front page, and the Cymraeg / English switch."""

from __future__ import annotations

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from bot.content import LANGS
from bot.db import session_scope
from bot.models import Practitioner
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import (
    current_practitioner,
    current_team,
    login_required,
    runtime,
    signed_in,
)
from webhooks.dashboard.pages import langs_for, render, safe_next


@blueprint.get("")
@login_required
def home() -> tuple[str, int]:
    """Who is signed in, their team and the areas it covers."""
    practitioner = current_practitioner()
    team = current_team()
    areas = list(team.area_codes) if team else []
    return render("home.html", langs_for(practitioner), practitioner=practitioner, team=team,
                  areas=areas)


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
