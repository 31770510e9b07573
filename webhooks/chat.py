"""The web chat at /chat: plain HTML forms, buttons for choices, no JavaScript needed.

The conversation lives in the database like any other; the browser holds only a random
chat id in a session cookie, which ends when the browser closes. The page shows the last
exchange and the current question, never a transcript, so a shared computer keeps no
history of what a young person said.

If the database or the engine fails, the page still answers, with the fixed safe reply
(bot/safety.py `fallback`: 999, Childline and Meic, Welsh then English), which needs
nothing but the content loaded at start-up.
"""

from __future__ import annotations

import secrets
import uuid

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from bot import metrics, safety
from bot.channels import Received
from bot.content import LANGS
from bot.engine import Reply
from webhooks import runtime_of

blueprint = Blueprint("chat", __name__)
# What a person may type in one message; longer posts are cut, not refused.
MAX_MESSAGE_CHARS = 4000


def _chat_id() -> str:
    if "chat_id" not in session:
        session["chat_id"] = secrets.token_urlsafe(24)
    chat_id: str = session["chat_id"]
    return chat_id


def _chrome(lang: str | None) -> dict[str, list[tuple[str, str]]]:
    """The page's own words: in the person's language, or Welsh then English."""
    content = runtime_of(current_app).content
    langs = (lang,) if lang in LANGS else LANGS
    return {key: [(code, content.text(code, key)) for code in langs]
            for key in ("web.title", "web.label", "web.send", "web.you", "web.leave",
                        "web.emergency", "web.expired", "web.too_long", "web.back")}


def _page(said: str | None, replies: tuple[Reply, ...], lang: str | None, status: int = 200
          ) -> tuple[str, int]:
    options = replies[-1].options if replies else ()
    html = render_template(
        "chat.html", said=said, replies=replies, options=options, chrome=_chrome(lang),
        lang=lang or "cy", message_id=uuid.uuid4().hex,
    )
    return html, status


def _problem(key: str, status: int) -> tuple[str, int]:
    """A page that says what went wrong and links back to the chat, changing nothing.

    It reads the session but never writes it: a forged cross-site post arrives without
    the cookie (SameSite=Lax), and answering it with a new session would replace the
    person's real one and lose their conversation.
    """
    lang = None
    if "chat_id" in session:
        try:
            lang = runtime_of(current_app).inbox.current(Received(
                channel="web", address=session["chat_id"], provider_id="", text="")).language
        except Exception as error:  # the database is gone: say it in both languages
            safety.log_failure("web", error)
    html = render_template("error.html", problem=key, chrome=_chrome(lang), lang=lang or "cy")
    return html, status


@blueprint.get("/")
def index() -> Response:
    """The chat is the front page for now."""
    return redirect(url_for("chat.chat"))


def _failed(error: Exception, said: str | None) -> tuple[str, int]:
    """The page with the fixed safe reply, when the database or the engine has failed.

    200, not 503: a proxy in front may put its own page in place of a 5xx one, and this
    page must reach the person. Nothing here needs the database.
    """
    safety.log_failure("web", error)
    fallback = Reply(safety.fallback(runtime_of(current_app).content), urgent=True)
    return _page(said, (fallback,), None)


@blueprint.get("/chat")
def chat() -> tuple[str, int]:
    """Show any message from their worker, then the current question (or the greeting)."""
    inbox = runtime_of(current_app).inbox
    try:
        waiting = inbox.collect("web", _chat_id())
        outcome = inbox.current(Received(channel="web", address=_chat_id(), provider_id="",
                                         text=""))
    except Exception as error:
        return _failed(error, None)
    return _page(None, (*waiting, *outcome.replies), outcome.language)


@blueprint.post("/chat")
def send() -> tuple[str, int]:
    """Pass a typed message or a pressed button to the bot and show its replies."""
    text = (request.form.get("text") or "")[:MAX_MESSAGE_CHARS]
    # A button sends "key|label": the key for the engine, the label to show what was chosen.
    option, _, label = (request.form.get("option") or "").partition("|")
    message_id = (request.form.get("message_id") or uuid.uuid4().hex)[:64]
    runtime = runtime_of(current_app)
    said = label if option else text
    try:
        outcome = runtime.inbox.receive(Received(
            channel="web", address=_chat_id(), provider_id=message_id, text=said,
            payload=option or None))
        if outcome.duplicate:
            # The same form sent twice (a double click or a refresh): show where things are.
            outcome = runtime.inbox.current(Received(channel="web", address=_chat_id(),
                                                     provider_id="", text=""))
            return _page(None, outcome.replies, outcome.language)
    except Exception as error:
        metrics.inbound("web", "error")
        return _failed(error, said)
    return _page(said, outcome.replies, outcome.language)


@blueprint.errorhandler(CSRFError)
def expired(error: CSRFError) -> tuple[str, int]:
    """A form without a valid token: most often a tab left open after the browser closed."""
    if request.endpoint == "chat.send":
        metrics.inbound("web", "forbidden")
    return _problem("web.expired", 400)


@blueprint.errorhandler(RequestEntityTooLarge)
def too_long(error: RequestEntityTooLarge) -> tuple[str, int]:
    """A body over the app's limit, which no form on the page can send."""
    if request.endpoint == "chat.send":
        metrics.inbound("web", "too_large")
    return _problem("web.too_long", 413)


@blueprint.post("/chat/leave")
def leave() -> Response:
    """Forget this browser's chat id, so the next visit starts a new chat."""
    session.clear()
    return redirect(url_for("chat.chat"))
