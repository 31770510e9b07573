"""The one table `python -m bench` prints: a row per figure, its unit, target and verdict.

A row is either a figure with a target the issue sets (met or not, and by how much), a
figure with none, or a check that must hold (exactly once, nothing cut): the command
fails when a check fails, never because a target is missed, unless asked (--strict).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Row:
    """One figure of one benchmark."""

    section: str
    key: str  # stable, for scripts and the test: e.g. "webhooks.postgresql.busy.ratio"
    figure: str
    value: str = ""
    unit: str = ""
    target: str = ""
    meets: bool | None = None  # None: no target, or not measured
    miss: str = ""  # by how much a target was missed
    check: bool = False  # a correctness check: the command fails if it does not hold
    ran: bool = True

    @property
    def verdict(self) -> str:
        """What the last column says."""
        if not self.ran or self.meets is None:
            return ""
        if self.check:
            return "PASS" if self.meets else "FAIL"
        return "yes" if self.meets else f"NO{f': {self.miss}' if self.miss else ''}"


def not_run(rows: Sequence[Row], why: str) -> list[Row]:
    """The same rows, saying why they have no value."""
    return [replace(row, value=why, unit="", meets=None, miss="", ran=False) for row in rows]


def number(value: float | None, digits: int = 1) -> str:
    """A figure as text; a dash for nothing measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def numbers(*values: float | None, digits: int = 1) -> str:
    """Several figures, e.g. p50 / p95 / p99."""
    return " / ".join(number(v, digits) for v in values)


def at_most(actual: float | None, limit: float) -> tuple[bool | None, str]:
    """Whether actual is within limit, and if not, by how much it is over."""
    if actual is None:
        return None, ""
    if actual <= limit:
        return True, ""
    return False, f"{actual / limit:.1f}x the limit" if actual >= 2 * limit else \
        f"{actual - limit:,.0f} over"


def at_least(actual: float | None, floor: float) -> tuple[bool | None, str]:
    """Whether actual reaches floor, and if not, what share of it it reached."""
    if actual is None:
        return None, ""
    if actual >= floor:
        return True, ""
    return False, f"{actual / floor:.0%} of the target"


def failed(rows: Sequence[Row], strict: bool = False) -> list[Row]:
    """The checks that did not hold (and with strict, the targets missed)."""
    return [row for row in rows if row.ran and row.meets is False and (row.check or strict)]


COLUMNS = ("figure", "value", "unit", "target", "meets")


def text_table(rows: Sequence[Row]) -> str:
    """Aligned plain text, a heading per section."""
    cells = [(r.figure, r.value, r.unit, r.target, r.verdict) for r in rows]
    widths = [max([len(c) for c in column] + [len(name)])
              for column, name in zip(zip(*cells, strict=True), COLUMNS, strict=True)] \
        if cells else [len(name) for name in COLUMNS]
    lines, section = [], None
    header = "  ".join(name.ljust(w) for name, w in zip(COLUMNS, widths, strict=True))
    for row, cell in zip(rows, cells, strict=True):
        if row.section != section:
            section = row.section
            lines += ["", section, header]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip())
    return "\n".join(lines).strip("\n")


def markdown_table(rows: Sequence[Row]) -> str:
    """A Markdown table per section, for docs/performance.md."""
    lines, section = [], None
    for row in rows:
        if row.section != section:
            section = row.section
            lines += ["", f"**{section}**", "", "| " + " | ".join(COLUMNS) + " |",
                      "| --- | ---: | --- | --- | --- |"]
        cells = (row.figure, row.value, row.unit, row.target, row.verdict)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines).strip("\n")
