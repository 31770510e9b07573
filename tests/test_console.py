"""The terminal channel behind `adref chat`."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels import console
from bot.crypto import Vault
from bot.engine import Option, Reply
from bot.inbox import Inbox
from bot.models import InboundEvent


def chat(inbox: Inbox, *typed: str, lang: str | None = None, who: str = "console:sam") -> str:
    """Run one terminal session and return everything it printed."""
    out: list[str] = []
    console.run(inbox, who, typed, out.append, lang=lang)
    return "\n".join(out)


def test_a_new_person_is_greeted_in_welsh_then_english_before_typing_anything(
    inbox: Inbox,
) -> None:
    shown = chat(inbox)
    assert shown.index("Shwmae") < shown.index("Hi!")
    assert "1. Cymraeg" in shown and "2. English" in shown


def test_a_language_given_on_the_command_line_goes_straight_to_who_is_writing(
    inbox: Inbox,
) -> None:
    assert "Pwy sy'n ysgrifennu?" in chat(inbox, lang="cy", who="console:cy")
    shown = chat(inbox, lang="en", who="console:en")
    assert "Who is writing?" in shown and "Shwmae" not in shown


def test_a_later_session_shows_the_open_question_without_choosing_the_language_again(
    inbox: Inbox,
) -> None:
    chat(inbox, "person ifanc", "3", "ie", lang="cy")
    shown = chat(inbox, "ddoe", lang="cy")
    assert shown.index("Pryd daethost ti'n ôl?") < shown.index("Ym mha ardal")
    assert "o hyn ymlaen" not in shown  # no "Welsh from now on" when it already is


def test_a_later_session_in_the_other_language_switches_to_it(inbox: Inbox) -> None:
    chat(inbox, "young person", lang="en")
    shown = chat(inbox, lang="cy")
    assert "Cymraeg o hyn ymlaen" in shown and "Beth hoffet ti ei wneud?" in shown


def test_undecodable_input_is_kept_as_replacement_characters(
    inbox: Inbox, db_engine: Engine, vault: Vault
) -> None:
    # What Python makes of the bytes FF FE on a UTF-8 terminal (surrogateescape).
    shown = chat(inbox, "hi\udcff\udcfe", "\ud800")
    assert shown.count("Shwmae") == 3
    with Session(db_engine) as session:
        texts = [vault.open(e.text_enc) for e in session.exec(select(InboundEvent))
                 if e.text_enc]
    assert texts[0] == "hi\ufffd\ufffd" and set(texts[1]) == {"\ufffd"}


def test_choices_are_numbered_under_the_question() -> None:
    reply = Reply("Which language?", (Option("lang_cy", "Cymraeg"), Option("lang_en", "English")))
    assert console.render(reply) == "Which language?\n  1. Cymraeg\n  2. English"
