"""The public pages: the information sheets and the service directory, in Welsh and English.

/cy/ and /en/ list them; /cy/<sheet> and /en/<sheet> show a whole sheet; /cy/gwasanaethau
and /en/services the directory; /taflenni (and /sheets) is a bilingual index, Welsh first,
for someone whose language is not known. An SMS that carries a carer sheet links here
(see `bot.content.sheet_path`). The pages set no cookie, load nothing from elsewhere and
run no script: a young person's phone should keep no trace of having read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, current_app, redirect, render_template
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from bot.content import (
    DIRECTORY_PAGE,
    LANGS,
    SHEETS,
    ContactPoint,
    Content,
    contact_line,
    directory_path,
    sheet_path,
)
from webhooks import runtime_of

blueprint = Blueprint("sheets", __name__)
# The directory's groups, in the order a young person would look for them.
AUDIENCES = ("young_people", "everyone", "adults")
# Two letters, so /dashboard and /chat never reach these rules; any other two letters
# get the bilingual "not found" page rather than Flask's English one.
LANG = "<string(length=2):lang>"


@dataclass(frozen=True)
class Switch:
    """A link to the same page in another language, labelled in that language."""

    lang: str
    href: str
    label: str


@dataclass(frozen=True)
class Block:
    """A paragraph (its lines kept) or a list (its `- ` items)."""

    kind: str  # "p" or "ul"
    lines: tuple[Markup, ...]


@dataclass(frozen=True)
class ServiceCard:
    """A service as the directory page shows it; contacts are shown ones only, linked."""

    id: str
    name: str
    what: Markup
    hours: str | None
    contacts: tuple[Markup, ...]
    note: str | None


def _content() -> Content:
    return runtime_of(current_app).content


def _linker() -> Linker:
    """One Linker per app: the content it is built from never changes while it runs."""
    linker = current_app.extensions.get("adref.sheets.linker")
    if linker is None:
        linker = current_app.extensions["adref.sheets.linker"] = Linker(_content())
    assert isinstance(linker, Linker)
    return linker


def _other(lang: str) -> str:
    return next(other for other in LANGS if other != lang)


def _href(point: ContactPoint) -> str | None:
    """Where tapping a contact point should lead; None where a link would mislead."""
    # National digits as printed: the audience dials from UK phones, and short numbers
    # (the emergency and helpline short codes) have no international form.
    digits = re.sub(r"\D", "", point.value)
    if point.kind in ("phone", "phone_welsh"):
        return f"tel:{digits}"
    if point.kind == "sms":
        return f"sms:{digits}" + (f"?body={quote(point.keyword)}" if point.keyword else "")
    if point.kind in ("web", "web_welsh"):
        return point.value
    if point.kind == "email":
        return f"mailto:{point.value}"
    # A textphone number is for a textphone or the Relay UK app: a tel: link would
    # start an ordinary voice call.
    return None


class Linker:
    """Turns the contact points written in a text into links: numbers, addresses, emails.

    Only shown contact points are linked. A textphone number is matched too, but left
    plain, so the 101 inside "18001 101" is never linked as a call to 101.
    """

    def __init__(self, content: Content) -> None:
        self.targets: dict[str, str | None] = {}
        for service in content.services.values():
            for point in service.contacts:
                if not point.shown:
                    continue
                href = _href(point)
                display = point.value.removeprefix("https://").removeprefix("http://")
                for written in (point.value, display):
                    self.targets.setdefault(written, href)
        # Longest first: "www.childline.org.uk/get-support/" before "www.childline.org.uk".
        alternatives = "|".join(re.escape(t) for t in sorted(self.targets, key=len, reverse=True))
        self.pattern = re.compile(rf"(?<![\w/.])(?:{alternatives})(?![\w/])")

    def __call__(self, text: str) -> Markup:
        """The text, escaped, with each contact point in it as a link."""
        out = Markup()
        last = 0
        for found in self.pattern.finditer(text):
            out += escape(text[last:found.start()])
            href = self.targets[found.group()]
            if href is None:
                out += escape(found.group())
            else:
                rel = ' rel="noreferrer"' if href.startswith("http") else ""
                out += Markup('<a href="{}"{}>{}</a>').format(href, Markup(rel), found.group())
            last = found.end()
        return out + escape(text[last:])


def blocks(body: str, linked: Callable[[str], Markup]) -> list[Block]:
    """A sheet page's text as paragraphs and lists, its line breaks kept."""
    out: list[Block] = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        start = len(out)
        for line in chunk.splitlines():
            if not line.strip():
                continue
            kind = "ul" if line.startswith("- ") else "p"
            text = linked(line[2:].strip() if kind == "ul" else line.strip())
            if len(out) > start and out[-1].kind == kind:
                out[-1] = Block(kind, (*out[-1].lines, text))
            else:
                out.append(Block(kind, (text,)))
    return out


def _cards(content: Content, lang: str, linked: Linker) -> list[tuple[str, list[ServiceCard]]]:
    """The directory by audience: each service with its shown contact points."""
    groups: dict[str, list[ServiceCard]] = {audience: [] for audience in AUDIENCES}
    for service in content.services.values():
        # Services for adults speak to parents and carers: "Ffoniwch", as in the chat.
        adult = service.audience == "adults"
        lines = tuple(
            linked(contact_line(content, lang, point, adult=adult))
            for point in service.contacts if point.shown
        )
        card = ServiceCard(
            id=service.id, name=service.name[lang], what=linked(service.what[lang]),
            hours=service.hours[lang] if service.hours else None, contacts=lines,
            note=service.welsh_note if lang == "cy" else None,
        )
        groups.get(service.audience, groups["everyone"]).append(card)
    return [(f"web.sheets.{audience}", cards) for audience, cards in groups.items() if cards]


def _render(template: str, *, lang: str, langs: tuple[str, ...], switch: list[Switch],
            status: int = 200, **values: object) -> tuple[str, int, dict[str, str]]:
    """A page: `lang` is the page's language, `langs` every language its words are in."""
    content = _content()
    html = render_template(
        f"sheets/{template}", lang=lang, langs=langs, switch=switch, text=content.text,
        linked=_linker(), index_paths={code: f"/{code}/" for code in LANGS},
        **values,
    )
    return html, status, {"Content-Language": ", ".join(langs)}


def _not_found() -> tuple[str, int, dict[str, str]]:
    """Both languages, Welsh first: whoever mistyped an address, we can't know their language."""
    switch = [Switch(code, f"/{code}/", _content().text(code, "web.sheets.language_name"))
              for code in LANGS]
    return _render("not_found.html", lang=LANGS[0], langs=LANGS, switch=switch, status=404)


# The Welsh address is registered first, so it is the one url_for gives.
@blueprint.get("/sheets")
@blueprint.get("/taflenni")
def both() -> tuple[str, int, dict[str, str]]:
    """Every sheet and the directory in Welsh, then in English."""
    content = _content()
    switch = [Switch(code, f"/{code}/", content.text(code, "web.sheets.language_name"))
              for code in LANGS]
    return _render("both.html", lang=LANGS[0], langs=LANGS, switch=switch,
                   sheets=content.sheets, sheet_ids=SHEETS, sheet_path=sheet_path,
                   directory_path=directory_path)


@blueprint.get(f"/{LANG}/")
def index(lang: str) -> tuple[str, int, dict[str, str]]:
    """Every sheet and the directory in one language."""
    if lang not in LANGS:
        return _not_found()
    content = _content()
    other = _other(lang)
    switch = [Switch(other, f"/{other}/", content.text(other, "web.sheets.language_name"))]
    return _render("index.html", lang=lang, langs=(lang,), switch=switch,
                   sheets=[content.sheets[lang][sid] for sid in SHEETS],
                   sheet_path=sheet_path, directory_path=directory_path)


@blueprint.get(f"/{LANG}/<page>")
def page(lang: str, page: str) -> tuple[str, int, dict[str, str]] | Response:
    """A whole information sheet, or the service directory."""
    if lang not in LANGS:
        return _not_found()
    if page in DIRECTORY_PAGE.values():
        if page != DIRECTORY_PAGE[lang]:  # /cy/services: the Welsh page has a Welsh name
            return redirect(directory_path(lang))
        return _directory(lang)
    if page not in SHEETS:
        return _not_found()
    content = _content()
    other = _other(lang)
    sheet = content.sheets[lang][page]
    switch = [Switch(other, sheet_path(other, page),
                     content.text(other, "web.sheets.language_name"))]
    return _render("sheet.html", lang=lang, langs=(lang,), switch=switch, sheet=sheet,
                   pages=[(p.heading, blocks(p.body, _linker())) for p in sheet.pages])


def _directory(lang: str) -> tuple[str, int, dict[str, str]]:
    content = _content()
    other = _other(lang)
    switch = [Switch(other, directory_path(other),
                     content.text(other, "web.sheets.language_name"))]
    return _render("directory.html", lang=lang, langs=(lang,), switch=switch,
                   groups=_cards(content, lang, _linker()))
