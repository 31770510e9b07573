"""The public sheet pages: every sheet and the directory, in Welsh and English."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine

from bot.config import Settings
from bot.content import LANGS, SHEETS, Content, directory_path, sheet_path
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.runtime import Runtime
from tests.conftest import FrozenClock
from webhooks import create_app
from webhooks.sheets import blocks

OTHER = {"cy": "en", "en": "cy"}
EMERGENCY = {"cy": "Nid gwasanaeth brys", "en": "Not an emergency service"}
PAGES = [sheet_path(lang, sid) for lang in LANGS for sid in SHEETS] + [
    directory_path(lang) for lang in LANGS]


@pytest.fixture
def app(settings: Settings, db_engine: Engine, vault: Vault, content: Content,
        clock: FrozenClock) -> Flask:
    """The app, with no channel configured."""
    inbox = Inbox(db_engine, vault, content, 72, clock)
    return create_app(Runtime(settings, db_engine, vault, content, inbox))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


class Page(HTMLParser):
    """What a test needs from a page: its lang, its links, and the words people read."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang: str | None = None
        self.links: list[tuple[dict[str, str | None], str]] = []
        self.text = ""
        self._link: dict[str, str | None] | None = None
        self._link_text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "a":
            self._link, self._link_text = dict(attrs), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.links.append((self._link, self._link_text))
            self._link = None

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._link is not None:
            self._link_text += data

    def hrefs(self) -> list[str]:
        """Every link's target."""
        return [str(attrs.get("href")) for attrs, _ in self.links]


def get(client: FlaskClient, path: str, status: int = 200) -> Page:
    response = client.get(path)
    assert response.status_code == status, path
    return Page(response.get_data(as_text=True))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("sid", SHEETS)
def test_a_whole_sheet_renders_in_its_language_with_every_page_as_a_section(
    client: FlaskClient, content: Content, lang: str, sid: str
) -> None:
    sheet = content.sheets[lang][sid]
    response = client.get(f"/{lang}/{sid}")
    html = response.get_data(as_text=True)
    page = Page(html)
    assert response.status_code == 200 and page.lang == lang
    assert response.headers["Content-Language"] == lang
    assert f"<h1>{_escaped(sheet.title)}</h1>" in html
    assert html.count("<section") == len(sheet.pages)
    for number, sheet_page in enumerate(sheet.pages, start=1):
        assert f'<section id="page-{number}">\n    <h2>{_escaped(sheet_page.heading)}</h2>' in html
    assert EMERGENCY[lang] in page.text


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;")


@pytest.mark.parametrize("path", PAGES)
def test_the_language_switch_goes_to_the_same_page_in_the_other_language(
    client: FlaskClient, path: str
) -> None:
    lang = path.split("/")[1]
    other = OTHER[lang]
    page = get(client, path)
    [(switch, label)] = [(a, t) for a, t in page.links if a.get("hreflang") == other]
    expected = (directory_path(other) if path == directory_path(lang)
                else sheet_path(other, path.split("/")[2]))
    assert switch["href"] == expected and switch["lang"] == other
    assert label == {"cy": "Cymraeg", "en": "English"}[other]
    get(client, expected)  # and it is there


def test_bullets_become_a_list_and_line_breaks_are_kept(client: FlaskClient) -> None:
    html = client.get("/en/parents-carers").get_data(as_text=True)
    assert "<ul><li>Try to get in touch with your child." in html
    assert "<li>Who they might be with.</li>" in html
    # A service card's lines stay on their own lines.
    card = "Family Point Cymru: Information about local support services for families in Wales."
    assert f"{card}<br>" in html


def test_a_page_body_splits_into_paragraphs_and_lists() -> None:
    body = "One line\nand the next\n\n- first\n- second\nafter the list\n\n\nLast"
    found = [(b.kind, [str(line) for line in b.lines]) for b in blocks(body, escape)]
    assert found == [("p", ["One line", "and the next"]), ("ul", ["first", "second"]),
                     ("p", ["after the list"]), ("p", ["Last"])]


@pytest.mark.parametrize(("lang", "heading"), [("cy", "Pwy sy'n gallu helpu"),
                                               ("en", "Who can help")])
def test_the_directory_shows_each_service_with_its_links(
    client: FlaskClient, content: Content, lang: str, heading: str
) -> None:
    page = get(client, directory_path(lang))
    assert page.lang == lang and heading in page.text
    for service in content.services.values():
        assert service.name[lang] in page.text
        if service.hours:
            assert service.hours[lang] in page.text
    hrefs = page.hrefs()
    for href in ("tel:08088023456", "tel:08001111", "tel:116000", "tel:999", "tel:101",
                 "sms:84001", "sms:116000", "sms:85258?body=SHOUT",
                 "https://www.meic.cymru", "mailto:help@nspcc.org.uk"):
        assert href in hrefs, href
    # The call link's text is the number as printed.
    assert ({"href": "tel:08088023456"}, "080880 23456") in page.links


def test_a_textphone_number_is_shown_but_never_linked_as_a_call(client: FlaskClient) -> None:
    page = get(client, "/en/services")
    assert "Textphone 18001 101" in page.text
    assert not any(h.startswith("tel:18") for h in page.hrefs())


@pytest.mark.parametrize("path", [*PAGES, "/cy/", "/en/", "/taflenni", "/sheets"])
def test_no_unverified_contact_point_appears_anywhere(
    client: FlaskClient, content: Content, path: str
) -> None:
    html = client.get(path).get_data(as_text=True)
    unverified = [p for s in content.services.values() for p in s.contacts if not p.shown]
    assert any(p.value == "0808 801 1000" for p in unverified)
    squeezed = html.replace(" ", "")
    for point in unverified:
        assert point.value.removeprefix("https://") not in html, point.id
        if point.kind in ("phone", "sms"):
            digits = re.sub(r"\D", "", point.value)
            assert not re.search(rf"(?<!\d){digits}(?!\d)", squeezed), point.id
    assert "0808 801 1000" not in html and "tel:08088011000" not in html


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_has_an_index_of_the_sheets_and_the_directory(
    client: FlaskClient, content: Content, lang: str
) -> None:
    page = get(client, f"/{lang}/")
    assert page.lang == lang
    for sid in SHEETS:
        assert (sheet_path(lang, sid), content.sheets[lang][sid].title) in [
            (a.get("href"), t) for a, t in page.links]
    assert directory_path(lang) in page.hrefs()
    [(switch, _)] = [(a, t) for a, t in page.links if a.get("hreflang") == OTHER[lang]]
    assert switch["href"] == f"/{OTHER[lang]}/"


@pytest.mark.parametrize("path", ["/taflenni", "/sheets"])
def test_the_bilingual_index_puts_welsh_first(client: FlaskClient, content: Content,
                                              path: str) -> None:
    page = get(client, path)
    assert page.lang == "cy"
    welsh = page.text.index(content.sheets["cy"]["young-person"].title)
    english = page.text.index(content.sheets["en"]["young-person"].title)
    assert welsh < english
    assert page.text.index(EMERGENCY["cy"]) < page.text.index(EMERGENCY["en"])
    hrefs = page.hrefs()
    assert hrefs.index("/cy/young-person") < hrefs.index("/en/young-person")
    assert "/cy/gwasanaethau" in hrefs and "/en/services" in hrefs


@pytest.mark.parametrize("path", ["/cy/no-such-sheet", "/en/no-such-sheet", "/fr/young-person",
                                  "/xx/", "/de/services"])
def test_an_unknown_sheet_or_language_is_a_404_in_both_languages_welsh_first(
    client: FlaskClient, path: str
) -> None:
    page = get(client, path, status=404)
    assert page.lang == "cy"
    assert page.text.index("Heb ddod o hyd i'r dudalen") < page.text.index("Page not found")
    assert page.text.index(EMERGENCY["cy"]) < page.text.index(EMERGENCY["en"])
    assert "/taflenni" in page.hrefs()


def test_the_directory_under_the_other_languages_name_leads_to_the_right_one(
    client: FlaskClient
) -> None:
    assert client.get("/cy/services").headers["Location"] == "/cy/gwasanaethau"
    assert client.get("/en/gwasanaethau").headers["Location"] == "/en/services"


@pytest.mark.parametrize("path", [*PAGES, "/cy/", "/en/", "/taflenni", "/cy/nothing"])
def test_every_page_keeps_to_the_csp_and_tracks_nothing(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script" not in html and " style=" not in html and "<style" not in html
    assert not re.search(r" on[a-z]+=", html)  # no inline event handlers
    assert "Set-Cookie" not in response.headers
    # Nothing is loaded from elsewhere: the only stylesheet is our own.
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["/static/sheets.css"]
    assert "<img" not in html and "<iframe" not in html
    assert 'name="viewport"' in html  # readable on a phone


def test_the_stylesheet_is_served(client: FlaskClient) -> None:
    response = client.get("/static/sheets.css")
    assert response.status_code == 200 and b"@media print" in response.data
    response.close()


def test_emergency_line_links_999(client: FlaskClient) -> None:
    page = get(client, "/cy/young-person")
    assert ({"href": "tel:999"}, "999") in page.links


def test_sheet_path_refuses_an_unknown_sheet_or_language() -> None:
    assert sheet_path("cy", "parents-carers") == "/cy/parents-carers"
    with pytest.raises(ValueError):
        sheet_path("fr", "parents-carers")
    with pytest.raises(ValueError):
        sheet_path("en", "nothing")
