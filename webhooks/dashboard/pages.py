"""Rendering dashboard pages in the practitioner's language, every word from the catalogs.

Before sign-in the language is not known: pages are in Welsh then English (the Welsh
Language Standards' default), unless the person picked one with the Cymraeg / English
links, which only change the address (`?lang=en`), so nothing is stored in the browser.

Every page behind sign-in carries the urgent banner: the references of urgent requests
the practitioner may see that nobody has claimed yet (bot/alerts.py `waiting`), as
plain links, so it needs no JavaScript and no page of its own to be seen.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, render_template, request
from markupsafe import Markup

from bot import alerts
from bot.content import LANGS
from bot.db import session_scope
from bot.models import Practitioner
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import current_actor, runtime, signed_in


def langs_for(practitioner: Practitioner | None = None) -> tuple[str, ...]:
    """The languages to show: the practitioner's, the one asked for, or Welsh then English."""
    if practitioner is not None:
        return (practitioner.language,)
    asked = request.values.get("lang")
    return (asked,) if asked in LANGS else LANGS


def render(template: str, langs: tuple[str, ...], status: int = 200, **values: object
           ) -> tuple[str, int]:
    """A page in langs: `say(key)` gives marked-up text, `text(key)` plain text.

    `word(lang, key)` is one language's text, for the names in the language switch.
    """
    content = runtime().content

    def say(key: str, **fields: object) -> Markup:
        return Markup(" / ").join(
            Markup('<span lang="{}">{}</span>').format(lang, content.text(lang, key, **fields))
            for lang in langs)

    def text(key: str, **fields: object) -> str:
        return " / ".join(content.text(lang, key, **fields) for lang in langs)

    def area_name(code: str) -> str:
        area = content.area(code)
        return " / ".join(area.name(lang) for lang in langs) if area else code

    # Signed in (even half way): the header offers the language switch and sign-out.
    html = render_template(
        f"dashboard/{template}", lang=langs[0], langs=langs, bilingual=len(langs) > 1,
        say=say, text=text, word=content.text, area_name=area_name, here=request.path,
        signed=signed_in() is not None,
        waiting=g.get("dashboard_waiting") or alerts.Waiting(), **values)
    return html, status


@blueprint.before_request
def look_for_urgent() -> None:
    """Find the urgent requests nobody has claimed, for the banner on this request's page.

    Before the view, not while rendering: a view renders inside its own transaction, and
    on SQLite a second one would wait for it to end.
    """
    signed = signed_in()
    if signed is None or not signed.complete:
        return
    with session_scope(runtime().engine) as session:
        g.dashboard_waiting = alerts.waiting(session, current_actor())


def safe_next(target: str | None, default: str) -> str:
    """A path inside the dashboard to go back to, never somewhere else."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard") \
            or "\\" in target or target.startswith("//"):
        return default
    return parts.path
