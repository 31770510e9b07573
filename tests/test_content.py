"""The words themselves: Welsh and English in step, and every number from the checked directory."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po

from bot.config import default_content_dir
from bot.content import LANGS, MARKER, SHEETS, Content, read_catalog

CONTENT = default_content_dir()
# The project's reference for every support service, beside the project (shared/README.md).
SHARED_FACTS = Path(__file__).resolve().parents[2] / "shared" / "facts" / "services.yaml"
FIELD = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")
# Three or more digits, perhaps spaced or hyphenated: a phone number typed by hand.
DIGITS = re.compile(r"\d(?:[ \-]?\d){2,}")


def placeholders(text: str) -> set[str]:
    """The `{name}` fields and `{{marker}}` directory markers in one text."""
    return set(FIELD.findall(text)) | {f"{{{{{m}}}}}" for m in MARKER.findall(text)}


@pytest.fixture(scope="module")
def catalogs() -> dict[str, dict[str, str]]:
    """Each language's catalog as written, before markers are replaced."""
    return {lang: read_catalog(CONTENT, lang) for lang in LANGS}


@pytest.fixture(scope="module")
def directory() -> dict[str, Any]:
    """content/services.yaml as written."""
    services: dict[str, Any] = yaml.safe_load(
        (CONTENT / "services.yaml").read_text("utf-8"))["services"]
    return services


def test_every_message_key_is_in_both_catalogs(catalogs: dict[str, dict[str, str]]) -> None:
    assert catalogs["cy"].keys() == catalogs["en"].keys()


def test_welsh_and_english_messages_have_the_same_placeholders_and_markers(
    catalogs: dict[str, dict[str, str]],
) -> None:
    differ = {key: (placeholders(text), placeholders(catalogs["cy"].get(key, "")))
              for key, text in catalogs["en"].items()
              if placeholders(text) != placeholders(catalogs["cy"].get(key, ""))}
    assert differ == {}


def test_the_template_lists_every_english_key() -> None:
    with (CONTENT / "messages.pot").open("rb") as f:
        template = {str(m.id) for m in read_po(f) if m.id}
    assert template == set(read_catalog(CONTENT, "en")), "run `adref content update`"


def test_every_sheet_is_in_both_languages_with_the_same_pages(content: Content) -> None:
    for sheet in SHEETS:
        welsh, english = content.sheets["cy"][sheet], content.sheets["en"][sheet]
        assert len(welsh.pages) == len(english.pages) > 1, sheet
        assert welsh.title != english.title


def test_every_intent_has_words_in_both_languages(content: Content) -> None:
    for intent, by_lang in content.intents.items():
        for lang in LANGS:
            assert any(by_lang.get(lang, ())), f"{intent} has no {lang} words"


def test_both_danger_lists_have_phrases(content: Content) -> None:
    for lang in LANGS:
        assert len([p for p in content.danger[lang] if p]) >= 20, lang


def test_every_contact_point_has_a_source_and_a_status(directory: dict[str, Any]) -> None:
    for sid, service in directory.items():
        for point in service.get("contacts", []):
            assert point.get("source"), f"{sid} {point.get('value')} has no source"
            assert point.get("status") in ("verified", "seed", "unverified"), point


def shared_facts() -> dict[str, Any]:
    """shared/facts/services.yaml; skipped outside CI if this checkout has no shared/."""
    if not SHARED_FACTS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the reference directory {SHARED_FACTS} is missing")
        pytest.skip(f"no reference directory at {SHARED_FACTS} (shared/ is not beside the "
                    "project); CI runs this check")
    data: dict[str, Any] = yaml.safe_load(SHARED_FACTS.read_text("utf-8"))
    return data


def test_every_number_given_matches_the_shared_reference(directory: dict[str, Any]) -> None:
    facts = shared_facts()
    for sid, service in directory.items():
        assert sid in facts, f"{sid} is not in the shared reference"
        for point in service.get("contacts", []):
            if point["kind"] not in ("phone", "phone_welsh", "sms", "textphone"):
                continue
            reference = {(str(c["value"]), c["status"]) for c in facts[sid]["contacts"]
                         if c["kind"] == point["kind"]}
            assert (str(point["value"]), point["status"]) in reference, (
                f"{point['id']}: {point['value']} ({point['status']}) has drifted from "
                f"shared/facts/services.yaml: {sorted(reference)}"
            )


def test_no_message_or_sheet_has_a_number_written_by_hand(
    catalogs: dict[str, dict[str, str]],
) -> None:
    texts = {f"{lang} message {key}": text
             for lang, catalog in catalogs.items() for key, text in catalog.items()}
    texts |= {f"{lang} sheet {sheet}": (CONTENT / lang / "sheets" / f"{sheet}.md").read_text()
              for lang in LANGS for sheet in SHEETS}
    typed = {where: DIGITS.findall(MARKER.sub("", text)) for where, text in texts.items()}
    assert {where: found for where, found in typed.items() if found} == {}


def test_every_marker_is_replaced_in_what_users_read(content: Content) -> None:
    for lang in LANGS:
        for key, text in content.messages[lang].items():
            assert "{{" not in text, f"{lang} {key}"
        for sheet in content.sheets[lang].values():
            for page in sheet.pages:
                assert "{{" not in page.body and "}}" not in page.body, f"{lang} {sheet.id}"
