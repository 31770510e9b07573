"""One request's page, and what a practitioner does with it: claim, release, reassign,
route, log a contact attempt, message the young person, record the outcome.

Every view and every action is audited. A request the practitioner may not see gets the
same 404 as one that does not exist (bot.casework.NotVisible), so nobody learns that a
request exists in another team's area. Each action is a POST form with a CSRF token,
answered with a redirect back to the page and a notice code (never free text).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from flask import redirect as _redirect
from flask import request, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from bot import audit, casefile, casework, messages
from bot.accounts import team_of
from bot.casework import Actor, NotVisible
from bot.db import session_scope
from bot.i18n import format_datetime
from bot.models import CHANNELS, CONTACT_METHODS, OUTBOX_STATUSES, OUTCOMES, Practitioner
from bot.rhi import ACTIVE
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import (
    current_actor,
    current_practitioner,
    current_team,
    login_required,
    now,
    runtime,
)
from webhooks.dashboard.pages import langs_for, render

Page = tuple[str, int]
# The notices an action may leave on the page; anything else in the address is ignored.
NOTICES = ("claimed", "taken", "released", "reassigned", "routed", "contact", "outcome",
           "message", "refused", *(f"message_{r}" for r in (
               messages.EMPTY, messages.TOO_LONG, messages.UNREACHABLE, messages.NOT_YOURS,
               messages.DUPLICATE)))
# The timeline steps the page can name; another kind shows as "other".
EVENT_KINDS = ("created", "claimed", "released", "reassigned", "routed", "withdrawn",
               "flagged_urgent", "erased", "contact_attempt", "outcome", "message_sent")
ACTOR_CODES = ("practitioner", "young_person", "system")
FORM_ID = re.compile(r"[A-Za-z0-9_\-]{8,32}")
MAX_NOTE_CHARS = 4000


def _not_found() -> Page:
    return render("problem.html", langs_for(current_practitioner()), 404,
                  problem="dash.request.not_found")


def _back(reference: str, done: str) -> Response:
    return _redirect(url_for("dashboard.request_page", reference=reference, done=done), 303)


@blueprint.get("/requests/<reference>")
@login_required
def request_page(reference: str) -> Page:
    """A request: the answers, consent, timeline, conversation and what can be done."""
    actor, practitioner = current_actor(), current_practitioner()
    rt = runtime()
    with session_scope(rt.engine) as db:
        try:
            found = casework.find(db, actor, reference)
        except NotVisible:
            return _not_found()
        case = casefile.open_case(db, rt.vault, found)
        team = current_team()
        mates = casefile.team_mates(db, team.id if team else None)
        audit.record(db, actor.id, "request.viewed", found.id, at=now())
        done = request.args.get("done")
        return render(
            "request.html", langs_for(practitioner), case=case, req=found, actor=actor,
            workable=casework.may_work_on(actor, found),
            manages=actor.role in ("manager", "admin"),
            mates=[m for m in mates if m.id != found.claimed_by],
            areas=[a.code for a in rt.content.areas if a.code != found.area],
            methods=CONTACT_METHODS, outcomes=OUTCOMES, form_id=secrets.token_urlsafe(12),
            notice=done if done in NOTICES else None, max_chars=messages.MAX_CHARS,
            when=lambda at: format_datetime(at, practitioner.language),
            overdue=found.status in ACTIVE and found.due_at < now(),
            event_kinds=EVENT_KINDS, actor_codes=ACTOR_CODES, channels=CHANNELS,
            sent_statuses=OUTBOX_STATUSES)


def _act(reference: str, action: Callable[[Session, Actor, int], str]) -> Page | Response:
    """Run an action on a visible request in one transaction; 404 when it is not visible.

    The action is given the request's id for its audit row: looked up first, because
    after a routing the manager may no longer see the request.
    """
    actor = current_actor()
    with session_scope(runtime().engine) as db:
        try:
            found = casework.find(db, actor, reference)
        except NotVisible:
            return _not_found()
        assert found.id is not None
        done = action(db, actor, found.id)
    return _back(reference, done)


def _audit(db: Session, actor: Actor, what: str, request_id: int, ok: bool,
           **detail: str | int | bool | None) -> None:
    audit.record(db, actor.id, what, request_id, at=now(), ok=ok, **detail)


@blueprint.post("/requests/<reference>/claim")
@login_required
def claim(reference: str) -> Page | Response:
    """Take the request; if someone else was quicker, the page says who has it."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        result = casework.claim(db, actor, reference, now())
        _audit(db, actor, "request.claimed", request_id, result.claimed,
               holder=result.holder)
        return "claimed" if result.claimed else "taken"
    return _act(reference, act)


@blueprint.post("/requests/<reference>/release")
@login_required
def release(reference: str) -> Page | Response:
    """Put the request back in the queue."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        ok = casework.release(db, actor, reference, now())
        _audit(db, actor, "request.released", request_id, ok)
        return "released" if ok else "refused"
    return _act(reference, act)


@blueprint.post("/requests/<reference>/reassign")
@login_required
def reassign(reference: str) -> Page | Response:
    """A manager gives the request to a practitioner of their team."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        to = _team_mate(db, request.form.get("practitioner", ""))
        ok = to is not None and casework.reassign(db, actor, reference, to, now())
        _audit(db, actor, "request.reassigned", request_id, ok, to=to.id if to else None)
        return "reassigned" if ok else "refused"
    return _act(reference, act)


def _team_mate(db: Session, value: str) -> Actor | None:
    """The practitioner chosen, as an Actor, if they are in the manager's team (or any,
    for an admin) and may still sign in."""
    chosen = db.get(Practitioner, int(value)) if value.isdigit() else None
    if chosen is None or chosen.id is None or chosen.disabled_at is not None:
        return None
    manager_team = current_team()
    if current_practitioner().role != "admin" and (
            manager_team is None or chosen.team_id != manager_team.id):
        return None
    team = team_of(db, chosen)
    return Actor(chosen.id, chosen.role, frozenset(team.area_codes) if team else frozenset())


@blueprint.post("/requests/<reference>/route")
@login_required
def route(reference: str) -> Page | Response:
    """A manager sends the request to another area's queue."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        area = request.form.get("area", "")
        known = runtime().content.area(area) is not None
        ok = known and casework.route(db, actor, reference, area, now())
        _audit(db, actor, "request.routed", request_id, ok, area=area if known else None)
        return "routed" if ok else "refused"
    return _act(reference, act)


@blueprint.post("/requests/<reference>/contact")
@login_required
def contact(reference: str) -> Page | Response:
    """Log a try at reaching the young person, and whether it got through."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        how, reached = request.form.get("how", ""), request.form.get("reached") == "yes"
        ok = casework.log_contact_attempt(db, actor, reference, how, reached, now())
        _audit(db, actor, "request.contact_logged", request_id, ok,
               how=how if how in CONTACT_METHODS else None, reached=reached)
        return "contact" if ok else "refused"
    return _act(reference, act)


@blueprint.post("/requests/<reference>/outcome")
@login_required
def outcome(reference: str) -> Page | Response:
    """Record how it ended, which closes the request."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        found = casework.find(db, actor, reference)
        # The Active Offer: did the worker who had it speak Welsh?
        worker = db.get(Practitioner, found.claimed_by or actor.id)
        chosen = request.form.get("outcome", "")
        ok = casework.record_outcome(
            db, runtime().vault, actor, reference, chosen, now(),
            note=request.form.get("note", "")[:MAX_NOTE_CHARS],
            transferred_to=request.form.get("transferred_to", ""),
            welsh_speaker=worker.speaks_welsh if worker else None)
        _audit(db, actor, "request.outcome", request_id, ok,
               outcome=chosen if chosen in OUTCOMES else None)
        return "outcome" if ok else "refused"
    return _act(reference, act)


@blueprint.post("/requests/<reference>/message")
@login_required
def message(reference: str) -> Page | Response:
    """Send the young person a message through the bot, on their own channel."""
    def act(db: Session, actor: Actor, request_id: int) -> str:
        form_id = request.form.get("form_id", "")
        sent = messages.send(
            db, runtime().vault, runtime().content, actor, reference,
            request.form.get("text", ""),
            form_id if FORM_ID.fullmatch(form_id) else secrets.token_urlsafe(12), now())
        _audit(db, actor, "request.message_sent", request_id, sent.ok, result=sent.result,
               channel=sent.channel)
        return "message" if sent.result == messages.SENT else f"message_{sent.result}"
    done = _act(reference, act)
    # Telegram and SMS go now, if a dispatcher runs in this process.
    runtime().wake.set()
    return done

