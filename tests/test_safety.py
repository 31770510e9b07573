"""Noticing danger in either language, whatever language the person chose; and the fixed
reply when handling a message fails. The big red-team and false-alarm sets are in
tests/danger/ (tests/test_danger_set.py); here are the matching rules, one by one."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import safety
from bot import text as textmod
from bot.content import LANGS, Content
from bot.safety import fallback, in_danger


@pytest.mark.parametrize("message", [
    "I want to kill myself",
    "KILL MYSELF!!!",
    "i wanna die",
    "i want to kil myself",
    "I don't feel safe here",
    "he hits me",
    "he makes me do stuff for money",
    "they make me carry drugs",
    "dwi'n mynd i ladd fy hun",
    "Dwi\u2019n mynd i ladd fy hun",
    "dwi isio marw",
    "mae o'n fy mrifo",
    "maen nhw'n gwneud i fi gario cyffuriau",
    "mae e'n gwneud i fi neud pethau am arian",
    "dwi ddim yn teimlo'n saff",
    "I'm fine but I want to die 😢",
])
def test_it_notices_danger_in_welsh_and_english_with_capitals_slips_and_mutations(
    content: Content, message: str
) -> None:
    assert in_danger(content, message)


@pytest.mark.parametrize("message", [
    "I'm fine thanks", "Dwi'n iawn diolch", "can I get help with school", "gwn i ddim", "yes",
    "ie", "Cardiff", "dim diolch", "I died laughing", "my phone died", "I live in Barry",
    "Dwi eisiau siarad am yr ysgol", "", "   ", "👍",
])
def test_it_stays_quiet_on_ordinary_messages(content: Content, message: str) -> None:
    assert not in_danger(content, message)


@pytest.mark.parametrize("lang", LANGS)
def test_every_phrase_on_each_list_is_noticed_as_written(content: Content, lang: str) -> None:
    missed = [phrase for phrase in content.danger[lang] if not in_danger(content, phrase)]
    assert missed == []


def test_danger_is_noticed_inside_a_long_message(content: Content) -> None:
    assert in_danger(content, "sorry this is long " * 50 + "and I want to end it all")


@pytest.mark.parametrize("message", [
    "i dont feel safe",  # apostrophes are optional
    "dwin ofnus",
    "i want to kill myslef",  # one slip in a longer word
    "im so suicidle",
    "mae o'n fy brifo",  # the mutation left out after "fy" is still "fy mrifo"
    "ges i fy nhreiso",  # a mutation and a slip together
])
def test_apostrophes_mutations_and_one_slip_in_a_longer_word_are_forgiven(
    content: Content, message: str
) -> None:
    assert in_danger(content, message)


@pytest.mark.parametrize("message", [
    "I'd rate it 10/10",  # "rate" is one letter from "rape": short words must be exact
    "es i i'r siop am fara",  # "fara" (bread) is one letter from "farw" (dead)
    "mae'n fawr",  # "mawr" (big) is "marw" (die) with two letters swapped
    "dwi'n cael fy nhalu ddydd Gwener",  # under the mutation, "talu" is short like "tagu"
    "my dad picks me up after school",  # a slip keeps the first letter: not "kicks me"
    "hit me up later x",  # "hit me" is listed only with who does it, or what follows
])
def test_short_words_and_first_letters_are_not_guessed_at(content: Content,
                                                          message: str) -> None:
    assert not in_danger(content, message)


def _plainly_matches(typed: str, known: str) -> bool:
    """The matching rule as the danger lists' header states it, without the index."""
    if abs(len(typed) - len(known)) > 3:
        return False
    forms, knowns = set(textmod.radicals(typed)), set(textmod.radicals(known))
    if forms & knowns:
        return True
    if min(len(f) for f in forms | knowns) < 5:
        return False
    return any(f[0] == k[0] and textmod.close(f, k) for f in forms for k in knowns)


@st.composite
def near_a_listed_word(draw: st.DrawFn, vocabulary: tuple[str, ...]) -> str:
    word = draw(st.sampled_from(vocabulary))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(word)))
        letter = draw(st.sampled_from("abcdefghilmnorstwy"))
        word = draw(st.sampled_from([word[:at] + letter + word[at:],
                                     word[:at] + word[at + 1:],
                                     word[:at] + letter + word[at + 1:]])) or "a"
    prefix = draw(st.sampled_from(["", "", "g", "n", "m", "ng", "h"]))
    return prefix + word


def test_the_phrase_index_finds_exactly_what_the_plain_rule_would(content: Content) -> None:
    index = safety._index(tuple(content.danger[lang] for lang in LANGS))
    vocabulary = tuple(sorted({word for phrases in index.starting.values()
                               for phrase in phrases for word in phrase}))

    @given(near_a_listed_word(vocabulary))
    def agrees(typed: str) -> None:
        found = safety._listed(index, typed)
        assert found == {k for k in vocabulary if _plainly_matches(typed, k)}

    agrees()


def test_a_long_message_is_read_quickly(content: Content) -> None:
    words = " ".join(f"gair{n} word{n}x" for n in range(200))
    started = time.perf_counter()
    assert not in_danger(content, words)
    assert time.perf_counter() - started < 0.5


def test_the_safe_reply_for_failures_is_welsh_first_with_999_childline_and_meic(
    content: Content
) -> None:
    welsh, english = fallback(content).split("\n\n")
    for text, lang in ((welsh, "cy"), (english, "en")):
        assert text == content.text(lang, "fallback")
        for ref in ("police.emergency", "childline.phone", "meic.phone"):
            assert content.contact(ref).value in text
    assert welsh.startswith("Mae'n ddrwg gen i") and english.startswith("Sorry")
