"""The Flask app: the web chat and the Telegram and Twilio webhooks."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

# Not `metrics`: that name is taken by the webhooks.metrics module once it is imported.
from bot import metrics as counters
from bot.config import Settings
from bot.runtime import Runtime, migrates_itself

# Big enough for any real chat message, small enough that a flood costs little.
MAX_BODY_BYTES = 64 * 1024
# The routes that receive a person's message, and the channel each counts under.
INBOUND_ROUTES = {"telegram.webhook": "telegram", "twilio.inbound": "sms", "chat.send": "web"}


def create_app(runtime: Runtime | None = None) -> Flask:
    """Build the app around a running Runtime (made from the environment if not given)."""
    if runtime is None:
        # The same start as `adref serve`, for WSGI servers that call create_app() directly.
        environment = Settings.from_env(os.environ, Path.cwd())
        runtime = Runtime.start(environment, migrate=migrates_itself(environment))
    settings = runtime.settings
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        # The web chat must leave nothing behind once the browser is closed.
        SESSION_PERMANENT=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions["adref"] = runtime
    if settings.proxy_hops:
        # Behind a load balancer the client's address (for the sign-in throttle) and
        # https come from the proxies' headers,
        # trusting only as many hops as were configured.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops)
    csrf = CSRFProtect(app)

    from webhooks import chat, health, sheets, telegram, twilio
    from webhooks import metrics as scrape
    from webhooks.dashboard import blueprint as dashboard

    app.register_blueprint(chat.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(scrape.blueprint)
    app.register_blueprint(sheets.blueprint)
    app.register_blueprint(dashboard)
    # Providers can't hold a CSRF token: these prove who they are by signature instead.
    for provider in (telegram.blueprint, twilio.blueprint):
        csrf.exempt(provider)
        app.register_blueprint(provider)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> RequestEntityTooLarge:
        # Werkzeug refuses the body when a view first reads it; the web chat has a page
        # of its own for this (webhooks/chat.py), the providers get the plain 413.
        channel = INBOUND_ROUTES.get(request.endpoint or "")
        if channel is not None:
            counters.inbound(channel, "too_large")
        return error

    @app.teardown_request
    def count_errors(error: BaseException | None) -> None:
        # Called with the exception that escaped a view (answered 500), None otherwise.
        channel = INBOUND_ROUTES.get(request.endpoint or "")
        if error is not None and channel is not None:
            counters.inbound(channel, "error")

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Nothing leaves for another site; our own pages still see where a form came
        # from, which Flask-WTF requires of every POST over https (its referrer check).
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if settings.production:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def runtime_of(app: Flask) -> Runtime:
    """The Runtime the app was built around."""
    runtime: Runtime = app.extensions["adref"]
    return runtime
