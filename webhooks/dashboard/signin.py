"""Signing in and out: email and password, then the code (enrolling the app the first time).

The rules (throttling, lock-out, time-outs, token rotation) are in bot/signin.py; these
views only turn forms into calls and answers into pages. Nothing personal is logged:
an account appears in logs by its id only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import segno
from flask import redirect as _redirect
from flask import request, session, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.wrappers import Response

from bot import signin
from bot.accounts import MAX_PASSWORD_CHARS, enrolment_secret, provisioning_uri
from bot.db import session_scope
from bot.models import Practitioner
from bot.signin import EXPIRED, THROTTLED, Signed
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import (
    COOKIE,
    clear_cookie,
    client_address,
    now,
    runtime,
    set_cookie,
    signed_in,
)
from webhooks.dashboard.pages import langs_for, render

log = logging.getLogger(__name__)
MAX_EMAIL_CHARS = 320
Page = tuple[str, int]
# Shows the second-step page again, with an error and a status.
PageAgain = Callable[[Signed, str, int], Page]


def redirect(endpoint: str, **values: Any) -> Response:
    """See other: after a POST the browser GETs the next page."""
    return _redirect(url_for(endpoint, **values), 303)


@blueprint.get("/sign-in")
def sign_in() -> Page | Response:
    """The sign-in form: email address and password."""
    signed = signed_in()
    if signed is not None and signed.complete:
        return redirect("dashboard.home")
    notice = ("dash.signin.signed_out" if request.args.get("signed_out")
              else "dash.signin.expired" if request.args.get("expired") else None)
    return render("sign_in.html", langs_for(), notice=notice, email="")


@blueprint.post("/sign-in")
def sign_in_post() -> Page | Response:
    """Check the password; on success go on to the code."""
    email = (request.form.get("email") or "")[:MAX_EMAIL_CHARS]
    password = (request.form.get("password") or "")[:MAX_PASSWORD_CHARS + 1]
    rt = runtime()
    with session_scope(rt.engine) as db:
        step = signin.sign_in(db, rt.vault, email, password, client_address(), now())
    if step.token is None:
        log.info("dashboard sign-in refused (%s)", step.refused)
        throttled = step.refused == THROTTLED
        return render("sign_in.html", langs_for(), 429 if throttled else 401, email=email,
                      error="dash.signin.throttled" if throttled else "dash.signin.failed")
    # A new CSRF token for the signed-in browser, as well as a new session token.
    session.pop("csrf_token", None)
    return set_cookie(redirect("dashboard.code"), step.token)


@blueprint.get("/code")
def code() -> Page | Response:
    """The second step: the code from the authenticator app."""
    signed = signed_in()
    if signed is None:
        return redirect("dashboard.sign_in", expired=1)
    if signed.complete:
        return redirect("dashboard.home")
    if signed.practitioner.totp_enrolled_at is None:
        return redirect("dashboard.enrol")
    return render("code.html", langs_for(signed.practitioner))


@blueprint.post("/code")
def code_post() -> Page | Response:
    """Check the code; on success the session is complete, under a new token."""
    return _second_step(lambda signed, error, status: render(
        "code.html", langs_for(signed.practitioner), status, error=error))


@blueprint.get("/enrol")
def enrol() -> Page | Response:
    """First sign-in: add Adref to an authenticator app, by QR code or by typing the key."""
    signed = signed_in()
    if signed is None:
        return redirect("dashboard.sign_in", expired=1)
    if signed.complete:
        return redirect("dashboard.home")
    if signed.practitioner.totp_enrolled_at is not None:
        return redirect("dashboard.code")
    return _enrol_page(signed, None, 200)


@blueprint.post("/enrol")
def enrol_post() -> Page | Response:
    """Confirm enrolment with a first code, which also completes the sign-in."""
    return _second_step(_enrol_page)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    """End the session on the server and forget the cookie."""
    signed = signed_in()
    lang = signed.practitioner.language if signed else None
    token = request.cookies.get(COOKIE)
    if token:
        with session_scope(runtime().engine) as db:
            signin.sign_out(db, token, now())
    if signed is not None:
        log.info("practitioner %s signed out", signed.practitioner.id)
    return clear_cookie(redirect("dashboard.sign_in", lang=lang, signed_out=1))


@blueprint.errorhandler(CSRFError)
def expired_form(error: CSRFError) -> Page:
    """A form without a valid CSRF token: an old tab, or a post from another site."""
    signed = signed_in()
    return render("problem.html", langs_for(signed.practitioner if signed else None), 400,
                  problem="dash.expired")


def _second_step(page_again: PageAgain) -> Page | Response:
    signed = signed_in()
    token = request.cookies.get(COOKIE)
    if signed is None or token is None:
        return redirect("dashboard.sign_in", expired=1)
    code = (request.form.get("code") or "")[:32]
    rt = runtime()
    with session_scope(rt.engine) as db:
        step = signin.second_factor(db, rt.vault, token, code, client_address(), now())
    if step.token is not None:
        log.info("practitioner %s signed in", signed.practitioner.id)
        return set_cookie(redirect("dashboard.home"), step.token)
    if step.refused == EXPIRED:
        return clear_cookie(redirect("dashboard.sign_in", expired=1))
    log.info("practitioner %s: second step refused (%s)", signed.practitioner.id, step.refused)
    if step.refused == THROTTLED:
        return page_again(signed, "dash.signin.throttled", 429)
    return page_again(signed, "dash.code.failed", 401)


def _enrol_page(signed: Signed, error: str | None, status: int) -> Page:
    rt = runtime()
    langs = langs_for(signed.practitioner)
    with session_scope(rt.engine) as db:
        practitioner = db.get_one(Practitioner, signed.practitioner.id)
        secret = enrolment_secret(db, rt.vault, practitioner)
    uri = provisioning_uri(secret, signed.practitioner.email)
    title = " / ".join(rt.content.text(lang, "dash.enrol.qr") for lang in langs)
    # Inline SVG: the CSP allows no data: images, and the key never leaves this page.
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=5, title=title, svgclass="qr"))
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render("enrol.html", langs, status, qr=qr, secret=grouped, error=error)
