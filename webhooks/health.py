"""/healthz (the process answers) and /readyz (the database answers and is migrated).

A load balancer sends traffic only to a ready worker; an orchestrator restarts one that
is not healthy. Neither page says more than it must: no versions, no addresses.
"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from bot.db import alembic_config
from webhooks import runtime_of

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """Alive: the process can answer a request."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> Response | tuple[Response, int]:
    """Ready: the database answers and its migrations are at head."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    try:
        with runtime_of(current_app).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError:
        return jsonify(status="unavailable", reason="database"), 503
    if current != heads:
        return jsonify(status="unavailable", reason="migrations"), 503
    return jsonify(status="ready")
