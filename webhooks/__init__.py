"""The Flask app: the web chat and the Telegram and Twilio webhooks."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from bot.config import Settings
from bot.runtime import Runtime, migrates_itself

# Big enough for any real chat message, small enough that a flood costs little.
MAX_BODY_BYTES = 64 * 1024


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
    csrf = CSRFProtect(app)

    from webhooks import chat, health, sheets, telegram, twilio
    from webhooks.dashboard import blueprint as dashboard

    app.register_blueprint(chat.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(sheets.blueprint)
    app.register_blueprint(dashboard)
    # Providers can't hold a CSRF token: these prove who they are by signature instead.
    for provider in (telegram.blueprint, twilio.blueprint):
        csrf.exempt(provider)
        app.register_blueprint(provider)

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def runtime_of(app: Flask) -> Runtime:
    """The Runtime the app was built around."""
    runtime: Runtime = app.extensions["adref"]
    return runtime
