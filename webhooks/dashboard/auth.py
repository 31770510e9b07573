"""Who is signed in to the dashboard, for every page that needs to know.

A page behind sign-in::

    @blueprint.get("/requests/<reference>")
    @login_required
    def request_page(reference: str) -> ...:
        found = ...                       # look the request up
        require_area(found.area)          # 404 outside the team's areas, never 403
        audit.record(session, current_practitioner().id, "request.viewed", found.id)

The browser holds a random token in an HttpOnly cookie; the server keeps its hash and
decides everything else (bot/signin.py), so signing out anywhere ends it everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from bot.accounts import team_of
from bot.casework import Actor
from bot.db import session_scope
from bot.models import Practitioner, Team
from bot.runtime import Runtime
from bot.signin import Signed, find_session
from webhooks import runtime_of

COOKIE = "adref_dashboard"
# Sent only to the dashboard: the web chat never sees a practitioner's token.
COOKIE_PATH = "/dashboard"
P = ParamSpec("P")
R = TypeVar("R")


def runtime() -> Runtime:
    """The running service."""
    return runtime_of(current_app)


def now() -> datetime:
    """The service's clock (a test's frozen one under test)."""
    return runtime().inbox.clock()


def client_address() -> str:
    """Where the request came from, for the sign-in throttle."""
    return request.remote_addr or "unknown"


def signed_in() -> Signed | None:
    """This request's dashboard session, complete or pending, looked up once."""
    if "dashboard_signed" not in g:
        g.dashboard_signed, g.dashboard_team = None, None
        token = request.cookies.get(COOKIE)
        if token:
            with session_scope(runtime().engine) as session:
                signed = find_session(session, token, now())
                if signed is not None:
                    g.dashboard_signed = signed
                    g.dashboard_team = team_of(session, signed.practitioner)
    found: Signed | None = g.dashboard_signed
    return found


def login_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """Let the view run only for a fully signed-in practitioner; others go to sign in."""

    @functools.wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        signed = signed_in()
        if signed is None:
            return redirect(url_for("dashboard.sign_in"), 303)
        if not signed.complete:
            return redirect(url_for("dashboard.code"), 303)
        return view(*args, **kwargs)

    return guarded


def current_practitioner() -> Practitioner:
    """The signed-in practitioner (only inside a view under login_required)."""
    signed = signed_in()
    if signed is None or not signed.complete:
        raise RuntimeError("current_practitioner() outside a view under login_required")
    return signed.practitioner


def current_team() -> Team | None:
    """The signed-in practitioner's team; an admin may have none."""
    current_practitioner()
    team: Team | None = g.dashboard_team
    return team


def current_areas() -> frozenset[str]:
    """The area codes the signed-in practitioner's team covers."""
    team = current_team()
    return frozenset(team.area_codes) if team else frozenset()


def current_actor() -> Actor:
    """The signed-in practitioner as casework sees them: id, role and the team's areas."""
    practitioner = current_practitioner()
    assert practitioner.id is not None
    return Actor(practitioner.id, practitioner.role, current_areas())


def require_area(area: str | None) -> None:
    """Answer 404 unless area is one of the team's.

    Not 403: a practitioner should not learn that a request exists in someone else's
    area. A request whose area is "not sure" (None) is routed by a manager first.
    """
    if area is None or area not in current_areas():
        abort(404)


def set_cookie(response: Response, token: str) -> Response:
    """Give the browser its session token: HttpOnly, SameSite=Lax, Secure in production."""
    response.set_cookie(
        COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="Lax",
        secure=runtime().settings.production,
    )
    return response


def clear_cookie(response: Response) -> Response:
    """Remove the session token from the browser (the server has ended it already)."""
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True,
                           samesite="Lax", secure=runtime().settings.production)
    return response
