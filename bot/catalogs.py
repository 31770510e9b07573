"""Keeping the words whole: check content for gaps, and bring Welsh in line with English.

Message keys, not English sentences, are the msgids: no user-facing string lives in code.
English (content/en) is the source catalog. `update` writes content/messages.pot from it
and adds each English text to the Welsh entry as a comment, so that when an English text
changes the Welsh entry is marked fuzzy and `check` fails until it is translated again.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.content import DOMAIN, LANGS, MARKER, SHEETS, ContentError, load, parse_sheet

PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")
# Five or more digits, perhaps spaced: a phone number written by hand instead of a marker.
LONG_NUMBER = re.compile(r"\d(?:[ \-]?\d){4,}")
STATUSES = ("verified", "seed", "unverified")


@dataclass
class Report:
    """What `check` found: errors fail the check; the rest is information."""

    errors: list[str] = field(default_factory=list)
    translated: dict[str, int] = field(default_factory=dict)
    keys: int = 0
    sheets: dict[str, int] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    unverified: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing, mismatched or unsourced."""
        return not self.errors

    def summary(self) -> str:
        """A readable report for `adref content check`."""
        lines = [f"Messages: {self.keys} keys"]
        for lang in LANGS:
            done = self.translated.get(lang, 0)
            share = 100 * done / self.keys if self.keys else 0
            lines.append(f"  {lang}: {done}/{self.keys} translated ({share:.0f}%)")
        lines.append("Sheets: " + ", ".join(f"{s} ({n} pages)" for s, n in self.sheets.items()))
        lines.append("Contact points: " + ", ".join(
            f"{self.statuses[s]} {s}" for s in STATUSES))
        if self.unverified:
            lines.append("Unverified contact points (never shown to users; confirm each on the"
                         " service's own site before launch):")
            lines.extend(f"  - {u}" for u in self.unverified)
        if self.errors:
            lines.append(f"FAILED: {len(self.errors)} problem(s):")
            lines.extend(f"  - {e}" for e in self.errors)
        else:
            lines.append("OK: Welsh and English are complete and every contact has a source.")
        return "\n".join(lines)


def _read(content_dir: Path, lang: str) -> Catalog:
    with (content_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=lang)


def _entries(catalog: Catalog) -> dict[str, tuple[str, bool]]:
    return {str(m.id): (str(m.string or ""), m.fuzzy) for m in catalog if m.id}


def check(content_dir: Path) -> Report:
    """Check catalogs, sheets and the directory; never raises on bad content."""
    report = Report()
    catalogs = {lang: _entries(_read(content_dir, lang)) for lang in LANGS}
    english = catalogs["en"]
    report.keys = len(english)
    for lang in LANGS:
        entries = catalogs[lang]
        report.translated[lang] = sum(1 for k in english if entries.get(k, ("", True))[0]
                                      and not entries[k][1])
        for key in english:
            text, fuzzy = entries.get(key, ("", False))
            if not text:
                report.errors.append(f"{lang}: missing translation for {key!r}")
            elif fuzzy:
                report.errors.append(f"{lang}: {key!r} is fuzzy (English changed): translate it")
        for key in entries.keys() - english.keys():
            report.errors.append(f"{lang}: {key!r} is not in the English catalog")
        for key, (text, _) in entries.items():
            _check_numbers(report, f"{lang} message {key!r}", text)
        _check_compiles(report, content_dir, lang)
    for key, (text, _) in english.items():
        welsh = catalogs["cy"].get(key, ("", False))[0]
        if welsh and _fields(text) != _fields(welsh):
            report.errors.append(f"placeholders differ in {key!r}: en {sorted(_fields(text))}"
                                 f" / cy {sorted(_fields(welsh))}")
    _check_sheets(report, content_dir)
    _check_directory(report, content_dir)
    try:
        load(content_dir)
    except (ContentError, OSError, KeyError, ValueError) as error:
        report.errors.append(f"content does not load: {error}")
    return report


def _fields(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) | {f"{{{{{m}}}}}" for m in MARKER.findall(text)}


def _check_numbers(report: Report, where: str, text: str) -> None:
    bare = MARKER.sub("", text)
    if LONG_NUMBER.search(bare) or re.search(r"\b(999|101)\b", bare):
        report.errors.append(f"{where}: write contact numbers as {{{{markers}}}} from"
                             " services.yaml, never by hand")


def _check_compiles(report: Report, content_dir: Path, lang: str) -> None:
    catalog = _read(content_dir, lang)
    for message, errors in catalog.check():
        report.errors.extend(f"{lang}: {message.id!r}: {e}" for e in errors)
    try:
        write_mo(io.BytesIO(), catalog)
    except Exception as error:  # any failure to compile is a content error to report
        report.errors.append(f"{lang}: catalog does not compile: {error}")


def _check_sheets(report: Report, content_dir: Path) -> None:
    for sheet in SHEETS:
        counts = {}
        for lang in LANGS:
            path = content_dir / lang / "sheets" / f"{sheet}.md"
            if not path.exists():
                report.errors.append(f"{lang}: sheet {sheet} is missing")
                continue
            source = path.read_text(encoding="utf-8")
            try:
                counts[lang] = len(parse_sheet(source)[1])
            except ContentError as error:
                report.errors.append(f"{lang}: sheet {sheet}: {error}")
            _check_numbers(report, f"{lang} sheet {sheet}", source)
        if len(set(counts.values())) > 1:
            report.errors.append(f"sheet {sheet} has different page counts: {counts}")
        report.sheets[sheet] = max(counts.values(), default=0)


def _check_directory(report: Report, content_dir: Path) -> None:
    data = yaml.safe_load((content_dir / "services.yaml").read_text(encoding="utf-8"))
    for sid, service in data["services"].items():
        for lang in LANGS:
            for part in ("name", "what"):
                if not service.get(part, {}).get(lang):
                    report.errors.append(f"service {sid}: no {part} in {lang}")
        for point in service.get("contacts", []):
            ident = point.get("id", f"{sid}.?")
            status = point.get("status")
            if not point.get("source"):
                report.errors.append(f"contact {ident} has no source")
            if status not in STATUSES:
                report.errors.append(f"contact {ident} has no valid status ({status!r})")
            else:
                report.statuses[status] += 1
            if status == "unverified":
                report.unverified.append(f"{ident}: {point.get('value')} ({point.get('source')})")


def update(content_dir: Path) -> str:
    """Write messages.pot from English; add, mark fuzzy or drop Welsh entries to match."""
    english = _read(content_dir, "en")
    template = Catalog(project="Adref", version="1", fuzzy=False)
    for message in english:
        if message.id:
            template.add(message.id, "", auto_comments=[str(message.string)],
                         flags=message.flags)
    with (content_dir / "messages.pot").open("wb") as f:
        write_po(f, template, width=0)
    welsh = _read(content_dir, "cy")
    added, changed, dropped = [], [], []
    for message in english:
        if not message.id:
            continue
        source = str(message.string)
        existing = welsh.get(message.id)
        if existing is None:
            welsh.add(message.id, "", auto_comments=[source], flags=message.flags)
            added.append(str(message.id))
        elif _squash(" ".join(existing.auto_comments)) != _squash(source):
            existing.auto_comments = [source]
            existing.flags.add("fuzzy")
            changed.append(str(message.id))
    for message in list(welsh):
        if message.id and english.get(message.id) is None:
            welsh.delete(message.id)
            dropped.append(str(message.id))
    with (content_dir / "cy" / "LC_MESSAGES" / f"{DOMAIN}.po").open("wb") as f:
        write_po(f, welsh, width=0)
    return (f"messages.pot: {len(template)} keys. Welsh: {len(added)} new (untranslated), "
            f"{len(changed)} marked fuzzy (English changed), {len(dropped)} removed."
            + "".join(f"\n  new: {k}" for k in added)
            + "".join(f"\n  fuzzy: {k}" for k in changed))


def _squash(text: str) -> str:
    return " ".join(text.split())
