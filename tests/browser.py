"""A person at the web chat, using only what the page offers: its forms and buttons.

Tests drive the chat the way a browser does: read the page, take the hidden fields
(the CSRF token and the message id) from the form, and press a button or type in the box.
So a test passes only if the HTML itself carries the conversation on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.dialog import Dialog


@dataclass
class Form:
    """One form on the page: where it posts, its hidden fields, buttons and text boxes."""

    action: str
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, label
    text_inputs: list[str] = field(default_factory=list)  # names


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.text: list[str] = []
        self.labels: dict[str, str] = {}  # label's "for" -> its text
        self.input_ids: dict[str, str] = {}  # id -> name
        self.langs: list[str] = []
        self._button: tuple[str, str] | None = None
        self._label: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "lang" in a:
            self.langs.append(a["lang"])
        if tag in ("script", "style", "title"):
            self._skip += 1
        elif tag == "form":
            self.forms.append(Form(action=a.get("action", "")))
        elif tag == "input" and self.forms:
            if a.get("type") == "hidden":
                self.forms[-1].hidden[a["name"]] = a.get("value", "")
            elif a.get("type", "text") == "text":
                self.forms[-1].text_inputs.append(a["name"])
                self.input_ids[a.get("id", "")] = a["name"]
        elif tag == "button":
            self._button = (a.get("name", ""), a.get("value", ""))
            if self.forms:
                self.forms[-1].buttons.append((*self._button, ""))
        elif tag == "label":
            self._label = a.get("for", "")
            self.labels[self._label] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        elif tag == "button":
            self._button = None
        elif tag == "label":
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._button is not None and self.forms:
            name, value, label = self.forms[-1].buttons[-1]
            self.forms[-1].buttons[-1] = (name, value, (label + data).strip())
        if self._label is not None:
            self.labels[self._label] += data


@dataclass
class Page:
    """A page as a person sees it."""

    status: int
    html: str
    text: str
    forms: list[Form]
    labels: dict[str, str]
    input_ids: dict[str, str]
    langs: list[str]

    @classmethod
    def of(cls, response: TestResponse) -> Page:
        """Parse a response."""
        html = response.get_data(as_text=True)
        parser = _Parser()
        parser.feed(html)
        return cls(response.status_code, html, " ".join(" ".join(parser.text).split()),
                   parser.forms, parser.labels, parser.input_ids, parser.langs)

    def buttons(self) -> list[str]:
        """The labels of every button, in page order."""
        return [label for form in self.forms for _, _, label in form.buttons]

    def form_with_button(self, label: str) -> tuple[Form, str, str] | None:
        """The form holding the button with this label, and the button's name and value."""
        for form in self.forms:
            for name, value, shown in form.buttons:
                if shown == label:
                    return form, name, value
        return None

    def form_posting_to(self, action: str, *, with_text: bool = False) -> Form:
        """The form that posts to action (the one with a text box, if asked)."""
        return next(f for f in self.forms
                    if f.action == action and bool(f.text_inputs) == with_text)


class Browser:
    """One person's browser at /chat, with its own cookies."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.page: Page | None = None

    def open(self) -> Page:
        """Load (or reload) the chat."""
        self.page = Page.of(self.client.get("/chat"))
        return self.page

    def press(self, label: str) -> Page:
        """Press the button with this label."""
        found = self._current().form_with_button(label)
        assert found, f"no button {label!r} on the page; buttons: {self._current().buttons()}"
        form, name, value = found
        return self.submit(form, {name: value})

    def type(self, text: str) -> Page:
        """Type into the message box and send it."""
        form = self._current().form_posting_to("/chat", with_text=True)
        return self.submit(form, {form.text_inputs[0]: text})

    def say(self, text: str) -> Page:
        """Press the button if there is one with this label, otherwise type it."""
        if self._current().form_with_button(text):
            return self.press(text)
        return self.type(text)

    def leave(self) -> Page:
        """Press "leave and clear this chat" and follow where it leads."""
        form = self._current().form_posting_to("/chat/leave")
        response = self.client.post(form.action, data=form.hidden, follow_redirects=True)
        self.page = Page.of(response)
        return self.page

    def submit(self, form: Form, fields: dict[str, str]) -> Page:
        """Send a form as the browser would: its hidden fields plus what was entered."""
        self.page = Page.of(self.client.post(form.action, data={**form.hidden, **fields}))
        return self.page

    def _current(self) -> Page:
        return self.page if self.page is not None else self.open()


def verify_web_dialog(browser: Browser, dialog: Dialog) -> Page:
    """Hold a conversation through the page and check what each reply says."""
    page = browser.open()
    for user_says, bot_says in dialog:
        page = browser.say(user_says)
        assert page.status == 200, f"after {user_says!r}: HTTP {page.status}"
        for fragment in (bot_says,) if isinstance(bot_says, str) else bot_says:
            assert fragment in page.text, (
                f"after {user_says!r} the page should say {fragment!r}, but said:\n{page.text}"
            )
    return page
