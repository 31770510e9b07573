"""Reading what people type: folding, Welsh mutations, forgiving comparison."""

from __future__ import annotations

import pytest

from bot import text


@pytest.mark.parametrize(("typed", "folded"), [
    ("Tân", "tan"), ("TÂN", "tan"), ("Ŵyr", "wyr"), ("CAERDYDD", "caerdydd"),
    ("Dwi\u2019n", "dwi'n"), ("\uff39\uff25\uff33", "yes"), ("Straße", "strasse"), ("e\u0301", "e"),
])
def test_folding_ignores_capitals_accents_and_curly_apostrophes(typed: str, folded: str) -> None:
    assert text.fold(typed) == folded


def test_folding_is_only_for_comparing_the_words_typed_are_kept_as_they_were() -> None:
    typed = "Mae'r tân yn boeth"
    assert text.phrase(typed) == "mae'r tan yn boeth"
    assert typed == "Mae'r tân yn boeth"
    assert text.fold("tân") == text.fold("tan"), "fire and until compare alike, and only that"


@pytest.mark.parametrize(("typed", "words"), [
    ("Yes!!! 👍", ["yes"]),
    ("  yn ôl  ", ["yn", "ol"]),
    ("'dwi'n' iawn,diolch", ["dwi'n", "iawn", "diolch"]),
    ("Pen-y-bont ar Ogwr", ["pen", "y", "bont", "ar", "ogwr"]),
    ("snake_case", ["snake", "case"]),
    ("\u200f\u200d\x00", []),
    ("", []),
])
def test_words_drop_punctuation_emoji_and_invisible_marks(typed: str, words: list[str]) -> None:
    assert text.words(typed) == words


@pytest.mark.parametrize(("mutated", "radical"), [
    ("nghaerdydd", "caerdydd"), ("gaerdydd", "caerdydd"), ("chaerdydd", "caerdydd"),
    ("ladd", "lladd"), ("mhowys", "powys"), ("ofalwr", "gofalwr"), ("mrifo", "brifo"),
    ("nharo", "taro"), ("fynwy", "mynwy"), ("benfro", "penfro"),
])
def test_radicals_undo_welsh_mutations(mutated: str, radical: str) -> None:
    forms = list(text.radicals(mutated))
    assert forms[0] == mutated and radical in forms


def test_radicals_leave_words_too_short_to_be_mutated() -> None:
    assert list(text.radicals("ng")) == ["ng"]


@pytest.mark.parametrize(("typed", "known"), [
    ("yesterday", "yesterday"), ("yestrday", "yesterday"), ("yesterdayy", "yesterday"),
    ("yesterdey", "yesterday"), ("yetserday", "yesterday"), ("nesa", "nesaf"), ("ie", "ie"),
])
def test_close_forgives_one_slip_in_a_word_of_four_letters_or_more(typed: str, known: str) -> None:
    assert text.close(typed, known)


@pytest.mark.parametrize(("typed", "known"), [
    ("yestrdy", "yesterday"), ("tommorow", "today"), ("ei", "ie"), ("nag", "na"), ("yse", "yes"),
    ("dyw", "ydw"), ("no", "na"), ("kil", "kill"),
])
def test_close_wants_short_words_exact_and_allows_only_one_slip(typed: str, known: str) -> None:
    assert not text.close(typed, known)


def test_close_to_any_radical_undoes_a_mutation_and_forgives_a_slip() -> None:
    assert text.close_to_any_radical("nghaerdyd", "caerdydd")
    assert not text.close_to_any_radical("abertawe", "caerdydd")


@pytest.mark.parametrize(("message", "phrase", "found"), [
    ("i want to kill myself", "kill myself", True),
    ("KILL MYSELF!!!", "kill myself", True),
    ("dwi'n mynd i ladd fy hun", "lladd fy hun", True),
    ("myself kill", "kill myself", False),
    ("kill all of myself", "kill myself", False),
    ("kill", "kill myself", False),
    ("", "kill myself", False),
])
def test_contains_phrase_finds_the_words_in_order_side_by_side(
    message: str, phrase: str, found: bool
) -> None:
    assert text.contains_phrase(text.words(message), phrase.split()) is found


def test_contains_phrase_can_want_the_exact_words_or_no_slips() -> None:
    said = text.words("yng Nghaerdydd")
    assert not text.contains_phrase(said, ["caerdydd"], exact=True)
    assert text.contains_phrase(said, ["caerdydd"], slips=False)
    assert not text.contains_phrase(text.words("Aberafan"), ["aberfan"], slips=False)
    assert text.contains_phrase(text.words("Aberafan"), ["aberfan"])
    assert not text.contains_phrase(["kill"], [])
