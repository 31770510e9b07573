"""How well danger is noticed, per language: the red-team set caught, and false alarms.

    .venv/bin/python -m bench.danger            # the table
    .venv/bin/python -m bench.danger --list     # and every message missed or alerting
    .venv/bin/python -m bench.danger --json

tests/danger/caught.txt holds messages that must all be caught (bot/safety.py
`in_danger`); tests/danger/ordinary.txt holds ordinary ones that should not alert. Each
file has a "# cy" and a "# en" section. A message from the ordinary set that alerts is a
false alarm: it is counted, never taken out, so the rate is honest. tests/test_danger_set.py
reads the sets with `read` and holds the suite to the same ceiling.

It exits 1 if any red-team message is missed or a language's false-alarm rate is over
FALSE_ALARM_CEILING.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.config import default_content_dir
from bot.content import LANGS, Content, load
from bot.safety import in_danger

SETS = Path(__file__).resolve().parent.parent / "tests" / "danger"
CAUGHT = SETS / "caught.txt"
ORDINARY = SETS / "ordinary.txt"
# A false alarm texts a team's duty phone: more than one in twenty ordinary messages would
# teach a team to ignore the alerts that matter.
FALSE_ALARM_CEILING = 0.05


@dataclass(frozen=True)
class Score:
    """One language's results on both sets."""

    lang: str
    red_team: int
    missed: tuple[str, ...]
    ordinary: int
    false_alarms: tuple[str, ...]

    @property
    def caught(self) -> int:
        """How many red-team messages were caught."""
        return self.red_team - len(self.missed)

    @property
    def false_alarm_rate(self) -> float:
        """The share of ordinary messages that alerted."""
        return len(self.false_alarms) / self.ordinary if self.ordinary else 0.0

    @property
    def ok(self) -> bool:
        """Nothing missed, and false alarms within the ceiling."""
        return not self.missed and self.false_alarm_rate <= FALSE_ALARM_CEILING


def read(path: Path) -> dict[str, tuple[str, ...]]:
    """A set's messages by language, from its "# cy" and "# en" sections."""
    found: dict[str, list[str]] = {lang: [] for lang in LANGS}
    lang: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        header = line.strip().removeprefix("#").strip()
        if line.startswith("#") and header in LANGS:
            lang = header
        elif line.startswith("#") or not line.strip():
            continue
        elif lang is None:
            raise ValueError(f"{path.name}:{number}: a message before any '# cy' or '# en'")
        else:
            found[lang].append(line.strip())
    return {code: tuple(messages) for code, messages in found.items()}


def score(content: Content, caught: Mapping[str, tuple[str, ...]],
          ordinary: Mapping[str, tuple[str, ...]]) -> list[Score]:
    """Run every message of both sets through in_danger, language by language."""
    return [
        Score(lang=lang, red_team=len(caught[lang]),
              missed=tuple(m for m in caught[lang] if not in_danger(content, m)),
              ordinary=len(ordinary[lang]),
              false_alarms=tuple(m for m in ordinary[lang] if in_danger(content, m)))
        for lang in LANGS
    ]


def table(scores: list[Score]) -> str:
    """The results as a plain-text table, a row per language and one for both."""
    rows = [("lang", "caught", "missed", "ordinary", "false alarms", "rate")]
    for s in scores:
        rows.append((s.lang, f"{s.caught}/{s.red_team}", str(len(s.missed)), str(s.ordinary),
                     str(len(s.false_alarms)), f"{s.false_alarm_rate:.1%}"))
    red = sum(s.red_team for s in scores)
    missed = sum(len(s.missed) for s in scores)
    ordinary = sum(s.ordinary for s in scores)
    alarms = sum(len(s.false_alarms) for s in scores)
    rows.append(("both", f"{red - missed}/{red}", str(missed), str(ordinary), str(alarms),
                 f"{alarms / ordinary if ordinary else 0:.1%}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"false-alarm ceiling: {FALSE_ALARM_CEILING:.0%} per language")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table (or JSON); exit 1 on a miss or a rate over the ceiling."""
    args = sys.argv[1:] if argv is None else argv
    scores = score(load(default_content_dir()), read(CAUGHT), read(ORDINARY))
    if "--json" in args:
        print(json.dumps([{**asdict(s), "false_alarm_rate": s.false_alarm_rate}
                          for s in scores], ensure_ascii=False, indent=2))
    else:
        print(table(scores))
        if "--list" in args:
            for s in scores:
                for message in s.missed:
                    print(f"missed       {s.lang}  {message}")
                for message in s.false_alarms:
                    print(f"false alarm  {s.lang}  {message}")
    return 0 if all(s.ok for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
