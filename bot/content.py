"""Loading the words: message catalogs, information sheets, the service directory, areas.

Everything a user reads lives under content/. It is loaded once at start-up into a
frozen `Content` that the engine reads and never changes. Directory markers such as
`{{meic}}` or `{{police.emergency}}` are replaced here, at load time, with details from
content/services.yaml, so every number the bot gives comes from the one checked place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import yaml
from babel.messages.pofile import read_po

from bot import text as textmod

LANGS: tuple[str, ...] = ("cy", "en")  # Welsh first, wherever both are listed
SHEETS = ("young-person", "parents-carers", "foster-residential-carers")
# The web page that lists the service directory, named in each language.
DIRECTORY_PAGE = {"cy": "gwasanaethau", "en": "services"}
DOMAIN = "messages"
MARKER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")


class ContentError(Exception):
    """Content that cannot be loaded: a missing file or a broken marker."""


@dataclass(frozen=True)
class ContactPoint:
    """One way to reach a service, with where the detail was checked."""

    id: str
    kind: str
    value: str
    status: str
    source: str
    free: bool = False
    keyword: str | None = None

    @property
    def shown(self) -> bool:
        """Unverified details are never given to users: a wrong number could cost a child."""
        return self.status in ("verified", "seed")


@dataclass(frozen=True)
class Service:
    """A support service from the directory."""

    id: str
    name: Mapping[str, str]
    what: Mapping[str, str]
    hours: Mapping[str, str] | None
    open: str
    audience: str
    contacts: tuple[ContactPoint, ...]
    welsh_note: str | None = None


@dataclass(frozen=True)
class Area:
    """A local authority area and every name a young person might type for it."""

    code: str
    en: str
    cy: str
    names: tuple[str, ...]

    def name(self, lang: str) -> str:
        """The area's statutory name in the given language."""
        return self.cy if lang == "cy" else self.en


@dataclass(frozen=True)
class Page:
    """One page of an information sheet: short enough for one chat message."""

    heading: str
    body: str


@dataclass(frozen=True)
class Sheet:
    """An information sheet in one language, split into pages."""

    id: str
    title: str
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class Content:
    """Every word the service can say, in both languages."""

    messages: Mapping[str, Mapping[str, str]]
    sheets: Mapping[str, Mapping[str, Sheet]]
    services: Mapping[str, Service]
    areas: tuple[Area, ...]
    intents: Mapping[str, Mapping[str, tuple[str, ...]]]
    danger: Mapping[str, tuple[str, ...]]

    def text(self, lang: str, key: str, **values: object) -> str:
        """A message in one language with its placeholders filled."""
        template = self.messages.get(lang, {}).get(key) or self.messages["en"].get(key, key)
        return template.format(**values) if values else template

    def both(self, key: str, **values: object) -> str:
        """A message in Welsh, then English: for anyone whose language is not yet known."""
        return "\n\n".join(self.text(lang, key, **values) for lang in LANGS)

    def area(self, code: str | None) -> Area | None:
        """The area with this code, if any."""
        return next((a for a in self.areas if a.code == code), None)

    def contact(self, ref: str) -> ContactPoint:
        """A contact point by its id, such as "police.emergency"."""
        service = self.services[ref.split(".")[0]]
        return next(c for c in service.contacts if c.id == ref)


def sheet_path(lang: str, sheet_id: str) -> str:
    """Where a sheet's web page is, under PUBLIC_BASE_URL: "/cy/parents-carers"."""
    if lang not in LANGS or sheet_id not in SHEETS:
        raise ValueError(f"no sheet {sheet_id!r} in {lang!r}")
    return f"/{lang}/{sheet_id}"


def directory_path(lang: str) -> str:
    """Where the service directory's web page is: "/cy/gwasanaethau" or "/en/services"."""
    if lang not in DIRECTORY_PAGE:
        raise ValueError(f"no directory page in {lang!r}")
    return f"/{lang}/{DIRECTORY_PAGE[lang]}"


def load(content_dir: Path) -> Content:
    """Read content/ into a Content, replacing directory markers with checked details."""
    services = _load_services(content_dir / "services.yaml")
    raw_messages = {lang: read_catalog(content_dir, lang) for lang in LANGS}
    draft = Content(
        messages=raw_messages,
        sheets={},
        services=services,
        areas=_load_areas(content_dir / "areas.yaml"),
        intents=_load_intents(content_dir / "intents.yaml"),
        danger={lang: _load_lines(content_dir / lang / "danger.txt") for lang in LANGS},
    )
    messages = {
        lang: MappingProxyType(
            {key: render_markers(draft, lang, value) for key, value in catalog.items()}
        )
        for lang, catalog in raw_messages.items()
    }
    draft = replace(draft, messages=MappingProxyType(messages))
    sheets = {
        lang: MappingProxyType(
            {sid: _load_sheet(draft, lang, content_dir / lang / "sheets" / f"{sid}.md", sid)
             for sid in SHEETS}
        )
        for lang in LANGS
    }
    return replace(draft, sheets=MappingProxyType(sheets))


def read_catalog(content_dir: Path, lang: str) -> dict[str, str]:
    """The translated, non-fuzzy entries of one language's catalog, by key."""
    path = content_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
        and not m.fuzzy
    }


def render_markers(content: Content, lang: str, text: str) -> str:
    """Replace `{{service}}` with a service's card and `{{service.contact}}` with its value."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        if "." in ref:
            try:
                return content.contact(ref).value
            except (KeyError, StopIteration) as e:
                raise ContentError(f"unknown contact point {{{{{ref}}}}}") from e
        if ref not in content.services:
            raise ContentError(f"unknown service {{{{{ref}}}}}")
        return service_card(content, lang, content.services[ref])

    return MARKER.sub(replace, text)


def service_card(content: Content, lang: str, service: Service) -> str:
    """A service's name, what it does, hours and every shown way to reach it."""
    lines = [f"{service.name[lang]}: {service.what[lang]}"]
    if service.hours:
        lines.append(service.hours[lang])
    # Services for adults are listed for parents and carers: Welsh speaks to them as "chi".
    adult = service.audience == "adults"
    for point in service.contacts:
        if point.shown:
            lines.append(contact_line(content, lang, point, adult=adult))
    if lang == "cy" and service.welsh_note:
        lines.append(service.welsh_note)
    return "\n".join(lines)


def contact_line(content: Content, lang: str, point: ContactPoint, *, adult: bool = False) -> str:
    """One contact point as a line, e.g. "Call <number> (free)"; `adult` for "Ffoniwch"."""
    value = point.value.removeprefix("https://").removeprefix("http://")
    key = f"contact.{point.kind}" + ("_keyword" if point.keyword else "")
    if adult and f"{key}.adult" in content.messages["en"]:
        key += ".adult"
    line = content.text(lang, key, value=value, keyword=point.keyword or "")
    if point.free:
        line += " " + content.text(lang, "contact.free")
    return line


def _load_services(path: Path) -> Mapping[str, Service]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    services = {}
    for sid, s in data["services"].items():
        contacts = tuple(
            ContactPoint(
                id=c["id"],
                kind=c["kind"],
                value=str(c["value"]),
                status=c.get("status", ""),
                source=c.get("source", ""),
                free=bool(c.get("free", False)),
                keyword=c.get("keyword"),
            )
            for c in s.get("contacts", [])
        )
        services[sid] = Service(
            id=sid,
            name=s["name"],
            what=s["what"],
            hours=s.get("hours"),
            open=s.get("open", "unknown"),
            audience=s.get("audience", "everyone"),
            contacts=contacts,
            welsh_note=s.get("welsh_note"),
        )
    return MappingProxyType(services)


def _load_areas(path: Path) -> tuple[Area, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    areas = []
    for code, a in data["areas"].items():
        names = [a["en"], a["cy"], *a.get("also", []), *a.get("towns", [])]
        areas.append(
            Area(code=code, en=a["en"], cy=a["cy"],
                 names=tuple(dict.fromkeys(textmod.phrase(n) for n in names)))
        )
    return tuple(areas)


def _load_intents(path: Path) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for intent, by_lang in data["intents"].items():
        for words in by_lang.values():
            # YAML reads a bare yes, no, on or off as true or false, which would then be
            # understood as the word "false".
            if any(not isinstance(w, str) for w in words):
                raise ContentError(f"intents.yaml: quote every word of {intent!r}: {words}")
    return MappingProxyType(
        {
            intent: MappingProxyType(
                {lang: tuple(textmod.phrase(str(w)) for w in by_lang.get(lang, []))
                 for lang in LANGS}
            )
            for intent, by_lang in data["intents"].items()
        }
    )


def _load_lines(path: Path) -> tuple[str, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(
        textmod.phrase(line) for line in lines if line.strip() and not line.startswith("#")
    )


def _load_sheet(content: Content, lang: str, path: Path, sid: str) -> Sheet:
    title, pages = parse_sheet(path.read_text(encoding="utf-8"))
    return Sheet(
        id=sid,
        title=title,
        pages=tuple(Page(h, render_markers(content, lang, b)) for h, b in pages),
    )


def parse_sheet(source: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a sheet's Markdown into its `# title` and its `## ` pages."""
    title = ""
    pages: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("## "):
            pages.append((line[3:].strip(), []))
        elif line.startswith("# ") and not title:
            title = line[2:].strip()
        elif pages:
            pages[-1][1].append(line)
    if not title or not pages:
        raise ContentError("a sheet needs a '# title' and at least one '## page'")
    return title, [(h, "\n".join(body).strip()) for h, body in pages]
