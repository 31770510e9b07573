"""Understanding choices, commands, places and phone numbers, in Welsh and English."""

from __future__ import annotations

import pytest

from bot.content import Content
from bot.engine import Inbound, Option
from bot.engine.understand import areas, choose, intent, matches, phone_number, vocabulary

COMMANDS = ("stop", "start", "delete", "help", "menu", "lang_cy", "lang_en", "back", "status",
            "withdraw")
METHODS = (Option("chat", "In this chat"), Option("phone", "Phone call"),
           Option("text", "Text message"), Option("in_person", "In person"))
YES_NO = (Option("yes", "Yes"), Option("no", "No"))


def pick(content: Content, options: tuple[Option, ...], typed: str,
         payload: str | None = None) -> str | None:
    return choose(content, Inbound(typed, "web", payload=payload), options)


def test_matches_wants_the_whole_message_allowing_a_slip() -> None:
    assert matches("Main Menu!", ["main menu"])
    assert matches("mian menu", ["main menu"])
    assert not matches("main menu please", ["main menu"])
    assert not matches("", ["menu"])


def test_a_choices_vocabulary_has_both_languages_and_both_labels(content: Content) -> None:
    words = vocabulary(content, "yes")
    assert {"ie", "yes", "iawn", "yes please", "ydw"} <= set(words)
    assert len(words) == len(set(words))


@pytest.mark.parametrize(("typed", "command"), [
    ("STOP", "stop"), ("stopio", "stop"), ("DECHRAU", "start"), ("DILEU", "delete"),
    ("delete my data", "delete"), ("CYMORTH", "help"), ("help?", "help"), ("DEWISLEN", "menu"),
    ("menu", "menu"), ("CYMRAEG", "lang_cy"), ("Welsh", "lang_cy"), ("ENGLISH", "lang_en"),
    ("saesneg", "lang_en"), ("NÔL", "back"), ("nol", "back"), ("yn ôl", "back"),
    ("BACK", "back"), ("STATWS", "status"), ("fy nghais", "status"), ("status", "status"),
    ("tynnu nôl", "withdraw"), ("withdraw", "withdraw"),
])
def test_a_command_is_recognised_in_either_language(
    content: Content, typed: str, command: str
) -> None:
    assert intent(content, typed, COMMANDS) == command


@pytest.mark.parametrize("typed", [
    "please stop sending me the sheet", "stop it", "help me with school", "cymraeg please",
    "", "Cardiff",
])
def test_a_command_must_be_the_whole_message(content: Content, typed: str) -> None:
    assert intent(content, typed, COMMANDS) is None


@pytest.mark.parametrize(("typed", "payload", "chosen"), [
    ("", "phone", "phone"),
    ("2", None, "phone"),
    (" 3 ", None, "text"),
    ("٣", None, "text"),
    ("Phone call", None, "phone"),
    ("phone call in the evening", None, "phone"),
    ("galwad ffôn", None, "phone"),
    ("neges destun", None, "text"),
    ("phone", None, "phone"),
    ("wyneb yn wyneb", None, "in_person"),
])
def test_a_choice_is_read_by_button_number_label_or_a_word_from_it(
    content: Content, typed: str, payload: str | None, chosen: str
) -> None:
    assert pick(content, METHODS, typed, payload) == chosen


@pytest.mark.parametrize("typed", [
    "", "0", "5", "99", "12345678901234567890", "፩", "𐩀", "something else entirely", "🤷",
])
def test_anything_else_is_no_choice_at_all(content: Content, typed: str) -> None:
    assert pick(content, METHODS, typed) is None


def test_a_pressed_button_that_is_not_on_offer_is_read_as_text(content: Content) -> None:
    assert pick(content, YES_NO, "no", payload="send") == "no"
    assert pick(content, YES_NO, "", payload="send") is None


def test_an_answer_that_fits_two_choices_is_no_choice(content: Content) -> None:
    assert pick(content, METHODS, "phone or text") is None
    assert pick(content, METHODS, "text or in person") is None


def test_a_short_answer_is_read_from_its_start(content: Content) -> None:
    assert pick(content, YES_NO, "yes no problem") == "yes"
    assert pick(content, YES_NO, "na dim diolch") == "no"


@pytest.mark.parametrize(("typed", "codes"), [
    ("Caerdydd", ["cardiff"]), ("yng Nghaerdydd", ["cardiff"]), ("ym Mhowys", ["powys"]),
    ("Pen-y-bont ar Ogwr", ["bridgend"]), ("Dinbych-y-pysgod", ["pembrokeshire"]),
    ("Denbigh", ["denbighshire"]), ("Aberfan", ["merthyr_tydfil"]),
    ("Aberafan", ["neath_port_talbot"]),
    ("Cardiff or Newport", ["cardiff", "newport"]), ("Narnia", []), ("I live at home", []),
    ("Barry " + "and more words " * 2000, ["vale_of_glamorgan"]),
])
def test_places_lead_to_their_areas(content: Content, typed: str, codes: list[str]) -> None:
    assert [a.code for a in areas(content, typed)] == codes


@pytest.mark.parametrize(("typed", "number"), [
    ("07911 123456", "+447911123456"), ("+44 7911 123456", "+447911123456"),
    ("029 2087 2087", "+442920872087"), ("(029) 20872087", "+442920872087"),
])
def test_a_uk_phone_number_is_kept_in_international_form(typed: str, number: str) -> None:
    assert phone_number(typed) == number


@pytest.mark.parametrize("typed", [
    "not a number", "123", "+1 202 555 0143", "0800 1111 0800 1111 0800 1111", "", "0" * 5000,
])
def test_anything_but_a_valid_uk_number_is_refused(typed: str) -> None:
    assert phone_number(typed) is None
