"""`adref content check` and `adref content update`, on copies of the real content."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.catalogs import check, update
from bot.config import default_content_dir


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A copy of content/ that a test may break."""
    return Path(shutil.copytree(default_content_dir(), tmp_path / "content"))


def catalog_path(content_dir: Path, lang: str) -> Path:
    return content_dir / lang / "LC_MESSAGES" / "messages.po"


def read(content_dir: Path, lang: str) -> Catalog:
    with catalog_path(content_dir, lang).open("rb") as f:
        return read_po(f, locale=lang)


def edit_catalog(content_dir: Path, lang: str, change: Callable[[Catalog], object]) -> None:
    """Change one language's catalog the way a translator's tool would."""
    catalog = read(content_dir, lang)
    change(catalog)
    with catalog_path(content_dir, lang).open("wb") as f:
        write_po(f, catalog, width=0)


def edit_directory(content_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = content_dir / "services.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data["services"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def welsh(key: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    """A breakage: one Welsh message's text changed."""
    def apply(catalog: Catalog) -> None:
        catalog[key].string = change(str(catalog[key].string))
    return lambda content_dir: edit_catalog(content_dir, "cy", apply)


def welsh_fuzzy(key: str) -> Callable[[Path], None]:
    return lambda content_dir: edit_catalog(content_dir, "cy",
                                            lambda c: c[key].flags.add("fuzzy"))


def unsourced(contact_id: str) -> Callable[[Path], None]:
    def apply(services: dict[str, Any]) -> None:
        for point in services[contact_id.split(".")[0]]["contacts"]:
            if point["id"] == contact_id:
                del point["source"]
    return lambda content_dir: edit_directory(content_dir, apply)


def without_welsh_sheet(content_dir: Path) -> None:
    (content_dir / "cy" / "sheets" / "parents-carers.md").unlink()


def with_a_bare_no_in_intents(content_dir: Path) -> None:
    path = content_dir / "intents.yaml"
    path.write_text(path.read_text("utf-8").replace('en: ["no", n,', "en: [no, n,"), "utf-8")


def with_extra_welsh_page(content_dir: Path) -> None:
    with (content_dir / "cy" / "sheets" / "young-person.md").open("a", encoding="utf-8") as f:
        f.write("\n## Tudalen arall\n\nMwy o eiriau.\n")


def test_the_real_content_passes_the_check(content_dir: Path) -> None:
    report = check(content_dir)
    assert report.ok, report.summary()
    assert report.translated == {"cy": report.keys, "en": report.keys}
    assert report.summary().endswith("OK: Welsh and English are complete and every contact "
                                     "has a source.")


def test_the_summary_lists_the_four_unverified_contact_points(content_dir: Path) -> None:
    report = check(content_dir)
    summary = report.summary()
    assert report.statuses["unverified"] == len(report.unverified) == 4
    for unverified in ("web_welsh: https://www.complantcymru.org.uk", "phone: 0808 801 1000",
                       "sms: 80800", "email: advice@childcomwales.org.uk"):
        assert f"  - childrens_commissioner.{unverified} (" in summary


@pytest.mark.parametrize(("breakage", "problem"), [
    pytest.param(welsh("rhi.done", lambda _: ""), "cy: missing translation for 'rhi.done'",
                 id="missing-translation"),
    pytest.param(welsh_fuzzy("rhi.done"), "cy: 'rhi.done' is fuzzy (English changed)",
                 id="fuzzy"),
    pytest.param(welsh("rhi.done", lambda s: s.replace("{reference}", "{cyfeirnod}")),
                 "placeholders differ in 'rhi.done': en ['reference'] / cy ['cyfeirnod']",
                 id="placeholder-renamed"),
    pytest.param(unsourced("meic.phone"), "contact meic.phone has no source", id="no-source"),
    pytest.param(without_welsh_sheet, "cy: sheet parents-carers is missing", id="no-sheet"),
    pytest.param(welsh("rhi.done", lambda s: s + " Ffonia 0800 1111."),
                 "cy message 'rhi.done': write contact numbers as {{markers}}",
                 id="hand-written-number"),
    pytest.param(with_extra_welsh_page, "sheet young-person has different page counts",
                 id="page-count"),
    pytest.param(welsh("danger", lambda s: s.replace("{{meic.phone}}", "{{meic.fax}}")),
                 "content does not load: unknown contact point {{meic.fax}}",
                 id="unknown-marker"),
    pytest.param(with_a_bare_no_in_intents, "content does not load: intents.yaml: quote every "
                 "word of 'no'", id="yaml-boolean"),
])
def test_the_check_fails_with_a_clear_message_on_broken_content(
    content_dir: Path, breakage: Callable[[Path], None], problem: str
) -> None:
    breakage(content_dir)
    report = check(content_dir)
    assert not report.ok
    assert problem in report.summary(), report.summary()
    assert "FAILED" in report.summary()


def test_update_marks_welsh_fuzzy_when_the_english_changes_and_the_check_fails(
    content_dir: Path,
) -> None:
    def reword(catalog: Catalog) -> None:
        catalog["rhi.done"].string = "Sent! Your reference is {reference}."

    edit_catalog(content_dir, "en", reword)
    assert "fuzzy: rhi.done" in update(content_dir)
    entry = read(content_dir, "cy")["rhi.done"]
    assert entry.fuzzy and entry.auto_comments == ["Sent! Your reference is {reference}."]
    assert check(content_dir).errors == ["cy: 'rhi.done' is fuzzy (English changed): translate it"]


def test_update_adds_an_untranslated_welsh_entry_for_a_new_english_key(content_dir: Path) -> None:
    edit_catalog(content_dir, "en", lambda c: c.add("rhi.thanks", "Thank you."))
    assert "new: rhi.thanks" in update(content_dir)
    assert read(content_dir, "cy")["rhi.thanks"].string == ""
    report = check(content_dir)
    assert report.errors == ["cy: missing translation for 'rhi.thanks'"]


def test_update_writes_a_template_listing_every_key(content_dir: Path) -> None:
    edit_catalog(content_dir, "en", lambda c: c.add("rhi.thanks", "Thank you."))
    update(content_dir)
    with (content_dir / "messages.pot").open("rb") as f:
        template = {str(m.id) for m in read_po(f) if m.id}
    assert template == {str(m.id) for m in read(content_dir, "en") if m.id}
    assert "rhi.thanks" in template


def test_update_on_content_in_step_changes_nothing_welsh(content_dir: Path) -> None:
    before = catalog_path(content_dir, "cy").read_bytes()
    summary = update(content_dir)
    assert "Welsh: 0 new (untranslated), 0 marked fuzzy (English changed), 0 removed" in summary
    assert catalog_path(content_dir, "cy").read_bytes() == before
    assert check(content_dir).ok
