"""A restart loses nothing: a conversation carries on in a new process or a new app."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.models import RhiRequest
from bot.runtime import Runtime
from tests.browser import Browser, verify_web_dialog
from tests.process import adref, lines
from tests.test_chat import ENGLISH_REQUEST, reference_in
from webhooks import create_app, runtime_of


def test_a_terminal_conversation_carries_on_in_a_new_process(tmp_path: Path,
                                                             database_url: str) -> None:
    first = adref("chat", "--as", "same-person", cwd=tmp_path, database=database_url,
                  stdin=lines("Cymraeg", "person ifanc", "3", "ie", "ddoe", "Caerffili"))
    assert "Wyt ti'n byw gartref neu mewn gofal?" in first.stdout

    second = adref("chat", "--as", "same-person", cwd=tmp_path, database=database_url,
                   stdin=lines("mewn gofal", "neges destun", "07911 123456", "gyda'r nos",
                               "ie", "hepgor", "anfon"))
    # It opens on the question the first process left open: no greeting, no menu.
    assert second.stdout.startswith("Wyt ti'n byw gartref neu mewn gofal?")
    assert "Shwmae" not in second.stdout and "Hi!" not in second.stdout
    assert "Sori" not in second.stdout  # every answer was understood where it was given
    assert second.stdout.index("Sut hoffet ti i'r gweithiwr gysylltu?") < second.stdout.index(
        "Pa rif ddylen nhw ei ddefnyddio?")
    assert "Wedi anfon. Dy gyfeirnod yw" in second.stdout

    [row] = json.loads(adref("requests", "list", "--format", "json", cwd=tmp_path,
                             database=database_url).stdout)
    assert row["reference"] in second.stdout
    assert (row["language"], row["area"], row["in_care"]) == ("cy", "caerphilly", "care")

    # Someone else on the same machine starts their own conversation, not this one.
    other = adref("chat", "--as", "someone-else", cwd=tmp_path, database=database_url)
    assert "Shwmae" in other.stdout


def start_app(settings: Settings) -> Flask:
    """A fresh app and Runtime, as a restarted server process would build them."""
    app = create_app(Runtime.start(settings))
    app.config["TESTING"] = True
    return app


def test_a_web_chat_carries_on_in_a_new_app_on_the_same_database(
    settings: Settings, db_engine: Engine
) -> None:
    first_app = start_app(settings)
    first = Browser(first_app.test_client())
    verify_web_dialog(first, ENGLISH_REQUEST[:6])
    cookie = first.client.get_cookie("session")
    assert cookie is not None
    runtime_of(first_app).engine.dispose()

    second_app = start_app(settings)  # the same SECRET_KEY
    assert runtime_of(second_app) is not runtime_of(first_app)
    second = Browser(second_app.test_client())
    second.client.set_cookie("session", cookie.value)
    # A tab left open across the restart: its form still works, CSRF token and all.
    second.page = first.page
    answered = second.press("At home")
    assert answered.status == 200
    assert "How would you like the worker to get in touch?" in answered.text
    # And a reload shows where the conversation is, not the greeting.
    page = second.open()
    assert "How would you like the worker to get in touch?" in page.text
    assert "Shwmae" not in page.text
    # The last step's target date assumes the frozen clock; this app runs on the real one.
    page = verify_web_dialog(second, [*ENGLISH_REQUEST[7:-1], ("Send", "Sent. Your reference is")])
    reference = reference_in(page)
    runtime_of(second_app).engine.dispose()

    with Session(db_engine) as session:
        request = session.exec(select(RhiRequest).where(RhiRequest.reference == reference)).one()
    assert (request.language, request.area, request.in_care) == (
        "en", "vale_of_glamorgan", "home")
