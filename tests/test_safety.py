"""Noticing danger in either language, whatever language the person chose."""

from __future__ import annotations

import pytest

from bot.content import LANGS, Content
from bot.safety import in_danger


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
