"""The red-team set (tests/danger/caught.txt) and the false-alarm set (ordinary.txt).

Every red-team message must be caught; ordinary messages may alert only up to the
ceiling bench/danger.py sets. The scoring is bench/danger.py's, so the suite and
`python -m bench.danger` can never disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import danger
from bot.content import LANGS, Content

CAUGHT = danger.read(danger.CAUGHT)
ORDINARY = danger.read(danger.ORDINARY)


@pytest.mark.parametrize("lang", LANGS)
def test_every_red_team_message_is_caught(content: Content, lang: str) -> None:
    [score] = [s for s in danger.score(content, CAUGHT, ORDINARY) if s.lang == lang]
    assert not score.missed, (
        f"{len(score.missed)} of {score.red_team} {lang} red-team messages missed; add "
        f"phrases to content/{lang}/danger.txt (or the other list):\n  "
        + "\n  ".join(score.missed))


@pytest.mark.parametrize("lang", LANGS)
def test_ordinary_messages_rarely_alert(content: Content, lang: str) -> None:
    [score] = [s for s in danger.score(content, CAUGHT, ORDINARY) if s.lang == lang]
    print(f"\nfalse alarms ({lang}): {len(score.false_alarms)} of {score.ordinary}, "
          f"{score.false_alarm_rate:.1%} (ceiling {danger.FALSE_ALARM_CEILING:.0%})")
    assert score.false_alarm_rate <= danger.FALSE_ALARM_CEILING, (
        f"{score.false_alarm_rate:.1%} of {lang} ordinary messages alert, over the "
        f"{danger.FALSE_ALARM_CEILING:.0%} ceiling:\n  " + "\n  ".join(score.false_alarms))


def test_the_sets_are_big_and_in_both_languages_about_equally() -> None:
    for found in (CAUGHT, ORDINARY):
        total = sum(len(found[lang]) for lang in LANGS)
        assert total >= 150
        assert all(len(found[lang]) >= 0.4 * total for lang in LANGS)


def test_no_message_is_in_both_sets_or_twice_in_one() -> None:
    for lang in LANGS:
        assert not set(CAUGHT[lang]) & set(ORDINARY[lang])
        for found in (CAUGHT, ORDINARY):
            assert len(set(found[lang])) == len(found[lang])


def test_the_bench_prints_caught_and_false_alarms_per_language(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert danger.main(["--list"]) == 0
    table = capsys.readouterr().out
    total = sum(len(CAUGHT[lang]) for lang in LANGS)
    assert table.splitlines()[0].split() == [
        "lang", "caught", "missed", "ordinary", "false", "alarms", "rate"]
    assert f"{total}/{total}" in table and "ceiling: 5%" in table
    assert [line.split()[0] for line in table.splitlines()[2:5]] == ["cy", "en", "both"]


def test_a_set_with_a_message_outside_any_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "set.txt"
    path.write_text("# notes\nhello\n# cy\nhelo\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"set\.txt:2"):
        danger.read(path)
