"""The leaflet's Telegram deep link: /start area-<code> remembers the area, in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import leaflets
from bot.cli_leaflets import leaflet
from bot.config import Settings
from bot.content import LANGS, Content
from bot.crypto import Vault
from bot.engine import CreateRequest, State
from bot.inbox import Inbox
from bot.models import RhiRequest
from bot.runtime import PUSH_CHANNELS, Runtime
from tests.conftest import FrozenClock
from tests.dialog import EngineDialog, Press, said, verify_engine_dialog
from tests.factories import BASE, TG_SECRET, TG_TOKEN, post_update, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.process import CONFIG_VARIABLES
from webhooks import create_app

GREETING = ("Shwmae!", "Pa iaith hoffet ti?", "Hi!", "Which language would you like?")
AREA_QUESTION = {"cy": "Ym mha ardal", "en": "Which area"}

# From the leaflet's link to a request, skipping the area question and showing the area.
FROM_A_LEAFLET: dict[str, EngineDialog] = {
    "cy": [
        ("/start ardal-caerdydd", GREETING),
        ("Cymraeg", "Pwy sy'n ysgrifennu?"),
        ("person ifanc", "Beth hoffet ti ei wneud?"),
        (Press("rhi"), "Hoffet ti ofyn am gyfweliad dychwelyd adref?"),
        ("ie", "Pryd daethost ti'n ôl?"),
        ("ddoe", "Wyt ti'n byw gartref neu mewn gofal?"),
        ("gartref", "Sut hoffet ti i'r gweithiwr gysylltu?"),
        ("yn y sgwrs yma", "Pryd mae'n amser da?"),
        ("bore", "Hoffet ti gael gweithiwr sy'n siarad Cymraeg?"),
        ("ie", "Oes unrhyw beth hoffet ti i'r gweithiwr ei wybod?"),
        ("hepgor", ("Ardal: Caerdydd", "Newid fy atebion")),
        ("anfon", "TEST-CODE"),
    ],
    "en": [
        ("/start area-cardiff", GREETING),
        ("English", "Who is writing?"),
        ("young person", "What would you like to do?"),
        (Press("rhi"), "Would you like to ask for a return home interview?"),
        ("yes", "When did you get back?"),
        ("yesterday", "Do you live at home or in care?"),
        ("at home", "How would you like the worker to get in touch?"),
        ("in this chat", "When is a good time?"),
        ("morning", "Would you like a worker who speaks Welsh?"),
        ("no", "Is there anything you'd like the worker to know?"),
        ("skip", ("Area: Cardiff", "Change my answers")),
        ("send", "TEST-CODE"),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_leaflets_link_skips_the_area_question_and_the_request_has_its_area(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, FROM_A_LEAFLET[lang], now=clock.now)
    assert all(AREA_QUESTION[lang] not in said(s) for s in steps)
    [request] = [e for e in steps[-1].effects if isinstance(e, CreateRequest)]
    assert request.area == "cardiff" and request.language == lang


@pytest.mark.parametrize("link", ["/start area-cardiff", "/start ardal-caerdydd"])
def test_the_greeting_still_comes_first_bilingual_welsh_first_whichever_leaflet(
    content: Content, clock: FrozenClock, link: str
) -> None:
    [first] = verify_engine_dialog(content, [(link, GREETING)], now=clock.now)
    text = said(first)
    assert text.index("Shwmae!") < text.index("Hi!")
    assert first.state.lang is None and first.state.node == "language"
    assert first.state.answer("area") == "cardiff"


@pytest.mark.parametrize("lang", LANGS)
def test_changing_the_answers_asks_for_the_area_too(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    dialog = FROM_A_LEAFLET[lang][:-1]
    change, returned, area = {
        "cy": (("newid", "Pryd daethost ti'n ôl?"), ("heddiw", AREA_QUESTION["cy"]),
               ("Abertawe", "Wyt ti'n byw gartref")),
        "en": (("change", "When did you get back?"), ("today", AREA_QUESTION["en"]),
               ("Swansea", "Do you live at home")),
    }[lang]
    steps = verify_engine_dialog(content, [*dialog, change, returned, area], now=clock.now)
    assert steps[-1].state.answer("area") == "swansea"


@pytest.mark.parametrize(("lang", "cancel", "ask"), [
    ("cy", "peidio anfon", "gofyn am gyfweliad"),
    ("en", "don't send", "ask for a return home interview"),
])
def test_the_leaflets_area_outlives_a_cancelled_request_but_not_a_sent_one(
    content: Content, clock: FrozenClock, lang: str, cancel: str, ask: str
) -> None:
    dialog = FROM_A_LEAFLET[lang]
    cancelled = verify_engine_dialog(content, [*dialog[:-1], (cancel, "")], now=clock.now)
    assert cancelled[-1].state.answer("area") == "cardiff"
    sent = verify_engine_dialog(content, dialog, now=clock.now)
    again = verify_engine_dialog(content, [(ask, ""), (dialog[4][0], ""),
                                           (dialog[5][0], AREA_QUESTION[lang])],
                                 now=clock.now, state=sent[-1].state)
    assert again[-1].state.node == "rhi_area"


@pytest.mark.parametrize("link", ["/start area-atlantis", "/start ardal-", "/start xyz",
                                  "/start area-cardiff-north"])
def test_an_unknown_area_is_ignored_and_the_person_is_greeted_as_usual(
    content: Content, clock: FrozenClock, link: str
) -> None:
    [first] = verify_engine_dialog(content, [(link, GREETING)], now=clock.now)
    assert first.state.answers == () and first.state.node == "language"
    assert "Sorry" not in said(first)


@pytest.mark.parametrize(("lang", "menu"), [("cy", "Beth hoffet ti ei wneud?"),
                                            ("en", "What would you like to do?")])
def test_a_leaflets_link_opened_in_a_chat_under_way_goes_to_the_menu_and_keeps_the_area(
    content: Content, clock: FrozenClock, lang: str, menu: str
) -> None:
    waiting = State(node="rhi_time", lang=lang, role="young_person")
    [result] = verify_engine_dialog(content, [("/start area-newport", menu)], now=clock.now,
                                    state=waiting)
    assert result.state.node == "yp_menu" and result.state.answer("area") == "newport"
    assert "Sorry" not in said(result) and "Sori" not in said(result)


def test_a_leaflets_link_after_stop_starts_again_as_start_does(
    content: Content, clock: FrozenClock
) -> None:
    stopped = State(node="yp_menu", lang="en", role="young_person", opted_out=True)
    [result] = verify_engine_dialog(content, [("/start area-cardiff", "What would you like")],
                                    now=clock.now, state=stopped)
    assert not result.state.opted_out and result.state.answer("area") == "cardiff"


# The parameter itself.


def test_every_areas_parameter_in_both_languages_fits_telegram_and_reads_back(
    content: Content
) -> None:
    seen = set()
    for area in content.areas:
        for lang in LANGS:
            given = leaflets.parameter(area, lang)
            assert leaflets.PARAMETER.fullmatch(given), given
            assert leaflets.area_code(content, given) == area.code
            assert leaflets.start_parameter(f"/start {given}") == given
            seen.add(given)
    assert len(seen) == 2 * len(content.areas)


@pytest.mark.parametrize(("given", "code"), [
    ("area-cardiff", "cardiff"), ("ardal-caerdydd", "cardiff"), ("AREA-CARDIFF", "cardiff"),
    ("area-neath_port_talbot", "neath_port_talbot"),
    ("area-neath-port-talbot", "neath_port_talbot"),
    ("ardal-ynys-mon", "anglesey"), ("ardal-pen-y-bont-ar-ogwr", "bridgend"),
    ("area-caerdydd", None), ("ardal-cardiff", None), ("cardiff", None), ("", None),
])
def test_a_parameter_names_an_area_by_its_code_or_its_welsh_name(
    content: Content, given: str, code: str | None
) -> None:
    assert leaflets.area_code(content, given) == code


@pytest.mark.parametrize(("typed", "given"), [
    ("/start area-cardiff", "area-cardiff"), ("/start@adref_bot area-cardiff", "area-cardiff"),
    ("  /start   ardal-caerdydd ", "ardal-caerdydd"), ("/start", None),
    ("start area-cardiff", None),
    ("/start area cardiff", None), ("I live in /start area-cardiff", None),
])
def test_only_a_whole_start_command_with_one_parameter_is_a_deep_link(
    typed: str, given: str | None
) -> None:
    assert leaflets.start_parameter(typed) == given


def test_the_link_printed_on_a_leaflet(content: Content) -> None:
    cardiff = content.area("cardiff")
    assert cardiff is not None
    assert leaflets.link("@AdrefBot", cardiff, "cy") == "https://t.me/AdrefBot?start=ardal-caerdydd"
    assert leaflets.link("AdrefBot", cardiff, "en") == "https://t.me/AdrefBot?start=area-cardiff"


# Through the Telegram webhook, into the queue.


@pytest.fixture
def client(settings: Settings, db_engine: Engine, vault: Vault, content: Content,
           clock: FrozenClock) -> Iterator[FlaskClient]:
    """The app with Telegram configured, writing replies to the outbox."""
    channel = replace(settings, public_base_url=BASE, telegram_bot_token=TG_TOKEN,
                      telegram_webhook_secret=TG_SECRET)
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    app: Flask = create_app(Runtime(channel, db_engine, vault, content, inbox))
    yield app.test_client()


def test_a_start_area_cardiff_update_leads_to_a_request_queued_for_cardiff(
    client: FlaskClient, db_engine: Engine
) -> None:
    messages = ["/start area-cardiff", "English", "young person", "ask for a return home interview",
                "yes", "today", "at home", "in this chat", "any time", "no", "skip", "send"]
    for update_id, text in enumerate(messages, start=1):
        assert post_update(client, telegram_update(update_id, text)).status_code == 200
    with Session(db_engine) as session:
        [request] = session.exec(select(RhiRequest)).all()
    assert request.area == "cardiff" and request.language == "en"


# `adref leaflet link`.


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in tmp_path with no configuration from the environment."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_the_command_prints_the_link_for_each_language_welsh_first(runner: CliRunner) -> None:
    result = runner.invoke(leaflet, ["link", "--area", "vale_of_glamorgan",
                                     "--bot-username", "AdrefBot"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "cy  https://t.me/AdrefBot?start=ardal-bro-morgannwg",
        "en  https://t.me/AdrefBot?start=area-vale-of-glamorgan",
    ]


def test_the_command_asks_telegram_for_the_bots_username_without_one(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTelegramAPI(TG_TOKEN) as telegram:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TG_TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram.base_url)
        result = runner.invoke(leaflet, ["link", "--area", "cardiff"])
    assert result.exit_code == 0, result.output
    assert "en  https://t.me/adref_test_bot?start=area-cardiff" in result.output


@pytest.mark.parametrize(("args", "error"), [
    (["--area", "atlantis", "--bot-username", "AdrefBot"], "no area 'atlantis'"),
    (["--area", "cardiff"], "give --bot-username"),
])
def test_the_command_explains_what_is_wrong(runner: CliRunner, args: list[str], error: str
                                             ) -> None:
    result = runner.invoke(leaflet, ["link", *args])
    assert result.exit_code != 0 and error in result.output
