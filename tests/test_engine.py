"""The conversation engine on its own: pure steps, no database, in Welsh and in English."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.content import LANGS, Content
from bot.engine import (
    Context,
    CreateRequest,
    Erase,
    FlagUrgent,
    Inbound,
    OptIn,
    OptOut,
    RecordConsent,
    RequestView,
    State,
    Step,
    WithdrawRequest,
    prompt,
    step,
)
from tests.conftest import FrozenClock
from tests.dialog import EngineDialog, Press, said, verify_engine_dialog

# Tuesday 24 November 2026: Meic opens 8am to midnight, the Commissioner weekdays 9 to 5.
TUESDAY_3AM = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
TUESDAY_10AM = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
REQUEST_AT = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
OPEN_REQUEST = RequestView("ABC-234", "queued", REQUEST_AT + timedelta(hours=40), REQUEST_AT)


def at(node: str, lang: str | None, role: str | None = "young_person", **answers: str) -> State:
    """A conversation waiting at one node."""
    return State(node=node, lang=lang, role=role, answers=tuple(answers.items()))


def send(content: Content, state: State, says: str | Press, now: datetime,
         request: RequestView | None = None) -> Step:
    """One message to the engine."""
    text, payload = ("", says.key) if isinstance(says, Press) else (says, None)
    ctx = Context(now, content, 72, request=request, new_reference="TEST-CODE")
    return step(state, Inbound(text, "web", payload=payload), ctx)


def in_order(text: str, *fragments: str) -> bool:
    """True when every fragment is in the text, each after the one before."""
    places = [text.index(f) for f in fragments]
    return places == sorted(places)


# First contact, language and role.


def test_the_first_greeting_is_bilingual_welsh_first_welcomes_welsh_and_is_no_emergency_service(
    content: Content, clock: FrozenClock
) -> None:
    [first] = verify_engine_dialog(content, [("hi", (
        "Shwmae!", "Mae croeso i ti ddefnyddio'r Gymraeg", "Nid gwasanaeth brys ydw i",
        "Hi!", "You can use Welsh or English: both are welcome", "I'm not an emergency service",
    ))], now=clock.now)
    assert in_order(said(first), "Shwmae!", "Pa iaith hoffet ti?", "Hi!", "Which language")
    assert [o.label for o in first.replies[-1].options] == ["Cymraeg", "English"]
    assert first.state.node == "language" and first.state.lang is None


ROLE_QUESTION = {"cy": "Pwy sy'n ysgrifennu?", "en": "Who is writing?"}


@pytest.mark.parametrize(("says", "lang"), [
    ("Cymraeg", "cy"), ("cymraeg!", "cy"), ("welsh", "cy"), ("1", "cy"), (Press("lang_cy"), "cy"),
    ("English", "en"), ("SAESNEG", "en"), ("english please", "en"), ("2", "en"),
    (Press("lang_en"), "en"),
])
def test_a_language_is_chosen_by_word_number_or_button(
    content: Content, clock: FrozenClock, says: str | Press, lang: str
) -> None:
    steps = verify_engine_dialog(content, [("helo", "Pa iaith hoffet ti?"),
                                           (says, ROLE_QUESTION[lang])], now=clock.now)
    assert (steps[-1].state.lang, steps[-1].state.node) == (lang, "role")


@pytest.mark.parametrize("lang", LANGS)
def test_a_first_message_naming_a_language_goes_straight_to_the_role_question(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    first = {"cy": "CYMRAEG", "en": "English"}[lang]
    [only] = verify_engine_dialog(content, [(first, ROLE_QUESTION[lang])], now=clock.now)
    assert "Shwmae" not in said(only) and only.state.lang == lang


@pytest.mark.parametrize(("lang", "says", "role", "then"), [
    ("cy", "person ifanc", "young_person", "Beth hoffet ti ei wneud?"),
    ("cy", "1", "young_person", "Teipia CYMORTH os wyt ti'n sownd"),
    ("cy", "Rhiant", "parent", "Beth hoffech chi ei ddarllen?"),
    ("cy", "gofalwr maeth", "foster", "plentyn yn eich gofal"),
    ("cy", Press("foster"), "foster", "Beth hoffech chi ei ddarllen?"),
    ("en", "I'm a young person", "young_person", "What would you like to do?"),
    ("en", "young person", "young_person", "Type HELP if you get stuck"),
    ("en", "2", "parent", "What would you like to read?"),
    ("en", "foster carer", "foster", "a child in your care"),
    ("en", Press("parent"), "parent", "What would you like to read?"),
])
def test_the_person_says_who_they_are_by_word_number_or_button(
    content: Content, clock: FrozenClock, lang: str, says: str | Press, role: str, then: str
) -> None:
    [result] = verify_engine_dialog(content, [(says, then)], now=clock.now,
                                    state=at("role", lang, role=None))
    assert result.state.role == role


# The young person's information sheet and the people they can talk to.

YOUNG_SHEET: dict[str, EngineDialog] = {
    "cy": [
        ("1", ("Ar ôl bod ar goll: gwybodaeth i ti (1/7)", "Beth yw cyfweliad dychwelyd adref?",
               "Nesaf")),
        ("nesaf", ("(2/7)", "Ti sy'n dewis")),
        ("NESAF", "(3/7)"),
        (Press("next"), "(4/7)"),
        ("1", "(5/7)"),
        ("mwy", ("(6/7)", "Pobl eraill i siarad â nhw", "Childline")),
        ("nesa", ("(7/7)", "Rhagor o help")),
    ],
    "en": [
        ("1", ("After you have been missing: information for you (1/7)",
               "What is a return home interview?", "Next")),
        ("next", ("(2/7)", "It is your choice")),
        ("NEXT", "(3/7)"),
        (Press("next"), "(4/7)"),
        ("1", "(5/7)"),
        ("more", ("(6/7)", "Other people you can talk to", "Childline")),
        ("nxet", ("(7/7)", "More help")),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_the_young_persons_sheet_turns_page_by_page_and_the_last_page_has_no_next(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, YOUNG_SHEET[lang], now=clock.now,
                                 state=at("yp_menu", lang))
    offered = [[o.key for o in s.replies[-1].options] for s in steps]
    assert all("next" in keys for keys in offered[:-1])
    assert offered[-1] == ["rhi", "menu"]


@pytest.mark.parametrize(("lang", "back", "menu"), [
    ("cy", "NÔL", "Beth hoffet ti ei wneud?"), ("en", "BACK", "What would you like to do?"),
])
def test_back_on_a_sheet_turns_back_a_page_and_leaves_from_the_first(
    content: Content, clock: FrozenClock, lang: str, back: str, menu: str
) -> None:
    verify_engine_dialog(content, [
        ("1", "(1/7)"), ("1", "(2/7)"), ("1", "(3/7)"),
        (back, "(2/7)"), (back.lower(), "(1/7)"), (back, menu),
    ], now=clock.now, state=at("yp_menu", lang))


def card(content: Content, lang: str, service: str) -> str:
    """How a service's card begins: its name in that language."""
    return content.services[service].name[lang] + ":"


@pytest.mark.parametrize("lang", LANGS)
def test_people_to_talk_to_at_3am_lists_999_and_101_then_the_services_open_all_night(
    content: Content, lang: str
) -> None:
    text = said(send(content, at("yp_menu", lang), "2", TUESDAY_3AM))
    assert in_order(text, "999", "101", card(content, lang, "childline"),
                    card(content, lang, "samaritans"), card(content, lang, "missing_people"),
                    card(content, lang, "meic"), card(content, lang, "childrens_commissioner"))


@pytest.mark.parametrize("lang", LANGS)
def test_people_to_talk_to_at_10am_on_a_weekday_lists_meic_and_the_commissioner_as_open(
    content: Content, lang: str
) -> None:
    text = said(send(content, at("yp_menu", lang), "2", TUESDAY_10AM))
    assert in_order(text, "999", "101", card(content, lang, "meic"),
                    card(content, lang, "childline"), card(content, lang, "childrens_commissioner"),
                    card(content, lang, "samaritans"), card(content, lang, "missing_people"))


def test_missing_peoples_note_that_texts_are_answered_in_english_is_given_only_in_welsh(
    content: Content, clock: FrozenClock
) -> None:
    note = content.services["missing_people"].welsh_note
    assert note
    welsh = said(send(content, at("yp_menu", "cy"), "2", clock.now))
    english = said(send(content, at("yp_menu", "en"), "2", clock.now))
    assert in_order(welsh, card(content, "cy", "missing_people"), note)
    assert note not in english


def every_reply_on_a_tour(content: Content) -> str:
    """Every sheet page, directory listing, danger and help reply, in both languages."""
    out = []
    for lang in LANGS:
        for now in (TUESDAY_3AM, TUESDAY_10AM):
            out.append(said(send(content, at("yp_menu", lang), "2", now)))
        for role, menu in (("young_person", "yp_menu"), ("parent", "carer_menu"),
                           ("foster", "carer_menu")):
            state = at(menu, lang, role=role)
            # Open the sheet and turn every page, then the menu's other choices.
            for says in ("1",) * 7 + ("menu", "2", "3", "help", "I'm scared"):
                result = send(content, state, says, TUESDAY_10AM)
                out.append(said(result))
                state = result.state
    return "\n".join(out)


def test_unverified_contact_points_are_never_given_to_anyone(content: Content) -> None:
    tour = every_reply_on_a_tour(content)
    digits = "".join(ch for ch in tour if ch.isdigit())
    unverified = [p for s in content.services.values() for p in s.contacts if not p.shown]
    assert any(p.value == "0808 801 1000" for p in unverified)
    for point in unverified:
        shown_as = point.value.removeprefix("https://").removeprefix("www.")
        assert shown_as not in tour, f"{point.id} ({point.value}) was given to a user"
        if point.kind == "phone":
            assert point.value.replace(" ", "") not in digits


# Parents, family carers, foster carers and residential workers.

PARENT: dict[str, EngineDialog] = {
    "cy": [
        ("helo", "Pa iaith hoffet ti?"),
        ("cymraeg", "Pwy sy'n ysgrifennu?"),
        ("rhiant", ("Yma gallwch chi ddarllen", "Beth hoffech chi ei ddarllen?",
                    "Darllen y daflen wybodaeth")),
        ("1", ("gwybodaeth i rieni a gofalwyr (1/7)", "Pam mae plant yn mynd ar goll")),
        ("dewislen", "Beth hoffech chi ei ddarllen?"),
        ("2", ("Os bydd y plentyn yn mynd ar goll eto", "ffoniwch yr heddlu ar 101",
               "ffoniwch 999")),
        ("3", ("Cymorth i chi a'ch teulu", "Pwynt Teulu Cymru", "DEWIS Cymru", "NSPCC",
               "Ffoniwch")),
    ],
    "en": [
        ("hello", "Which language would you like?"),
        ("english", "Who is writing?"),
        ("parent", ("Here you can read", "What would you like to read?",
                    "Read the information sheet")),
        ("1", ("information for parents and carers (1/7)", "Why children go missing")),
        ("menu", "What would you like to read?"),
        ("2", ("If the child goes missing again", "call the police on 101", "call 999")),
        ("3", ("Support for you and your family", "Family Point Cymru", "DEWIS Cymru", "NSPCC",
               "Call")),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_parent_reads_their_sheet_what_to_do_if_it_happens_again_and_where_to_get_support(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, PARENT[lang], now=clock.now)
    assert steps[-1].state.role == "parent"
    assert "Child Information Form" not in said(steps[-2])


FOSTER: dict[str, EngineDialog] = {
    "cy": [
        ("gofalwr maeth", "Beth hoffech chi ei ddarllen?"),
        ("1", ("i ofalwyr maeth a gofalwyr mewn cartrefi gofal preswyl (1/7)",)),
        ("DEWISLEN", "Beth hoffech chi ei ddarllen?"),
        ("2", ("Ffurflen Wybodaeth y Plentyn", "101", "999",
               "Rhaid i chi ddweud wrth y gwasanaethau cymdeithasol")),
    ],
    "en": [
        ("foster carer", "What would you like to read?"),
        ("1", ("information for foster carers and residential carers (1/7)",)),
        ("MENU", "What would you like to read?"),
        ("2", ("Child Information Form", "101", "999", "You must tell social services")),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_foster_carer_gets_their_own_sheet_and_is_told_to_give_the_child_information_form(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, FOSTER[lang], now=clock.now,
                                 state=at("role", lang, role=None))
    assert steps[-1].state.role == "foster"


TI_FORMS = ("Galli di", "Gelli di", "Ffonia ", "Teipia ", "Tecstia ", "wyt ti", " dy ", " ti.")


@pytest.mark.parametrize("role", ["parent", "foster"])
def test_welsh_speaks_to_parents_and_carers_as_chi(
    content: Content, clock: FrozenClock, role: str
) -> None:
    steps = verify_engine_dialog(content, [
        ("CYMORTH", ("Gallwch chi deipio", "DEWISLEN i weld eich dewisiadau")),
        ("beth?", "Gallwch chi deipio rhif"),
        ("3", ("Ffoniwch", "(am ddim)")),
        ("1", "(1/7)"), *[("nesaf", "/7)")] * 6,
        ("ENGLISH", "English from now on"), ("CYMRAEG", "Teipiwch ENGLISH"),
        ("DILEU", "Ydych chi eisiau dileu eich data?"), ("na", "does dim byd"),
        ("mae o'n fy mrifo", "Os oes rhywun mewn perygl nawr, ffoniwch 999"),
        ("STOP", "Teipiwch DECHRAU"),
    ], now=clock.now, state=at("carer_menu", "cy", role=role))
    welsh = "\n".join(said(s) for s in steps if s.state.lang == "cy")
    for form in TI_FORMS:
        assert form not in welsh, f"a parent or carer was spoken to as 'ti': {form!r}"


# Commands that work anywhere: HELP, MENU, a language, BACK.

AREA_QUESTION = {"cy": "Ym mha ardal wyt ti'n byw?", "en": "Which area do you live in?"}


@pytest.mark.parametrize(("lang", "says", "help_text"), [
    ("cy", "CYMORTH", "Galli di deipio"), ("cy", "help", "STATWS i weld dy gais"),
    ("en", "HELP", "You can type"), ("en", "Help!", "STATUS to check your request"),
])
def test_help_mid_request_explains_the_commands_and_asks_the_same_question_again(
    content: Content, clock: FrozenClock, lang: str, says: str, help_text: str
) -> None:
    [result] = verify_engine_dialog(content, [(says, (help_text, AREA_QUESTION[lang]))],
                                    now=clock.now, state=at("rhi_area", lang))
    assert result.state.node == "rhi_area"
    assert [o.key for o in result.replies[-1].options] == ["not_sure"]


@pytest.mark.parametrize(("lang", "says", "menu"), [
    ("cy", "DEWISLEN", "Beth hoffet ti ei wneud?"), ("cy", "menu", "Beth hoffet ti ei wneud?"),
    ("en", "MENU", "What would you like to do?"), ("en", "main menu", "What would you like to do?"),
])
def test_menu_from_inside_a_request_goes_back_to_the_young_persons_menu(
    content: Content, clock: FrozenClock, lang: str, says: str, menu: str
) -> None:
    [result] = verify_engine_dialog(content, [(says, menu)], now=clock.now,
                                    state=at("rhi_living", lang, area="cardiff"))
    assert result.state.node == "yp_menu"


@pytest.mark.parametrize(("start", "says", "now_in", "changed"), [
    ("en", "CYMRAEG", "cy", "Iawn, Cymraeg o hyn ymlaen. Teipia ENGLISH"),
    ("en", "cymraeg", "cy", "Iawn, Cymraeg o hyn ymlaen"),
    ("cy", "ENGLISH", "en", "OK, English from now on. Type CYMRAEG"),
    ("cy", "saesneg", "en", "OK, English from now on"),
])
def test_changing_language_mid_request_asks_the_same_question_again_in_the_new_language(
    content: Content, clock: FrozenClock, start: str, says: str, now_in: str, changed: str
) -> None:
    [result] = verify_engine_dialog(content, [(says, (changed, AREA_QUESTION[now_in]))],
                                    now=clock.now, state=at("rhi_area", start))
    assert (result.state.lang, result.state.node) == (now_in, "rhi_area")
    assert AREA_QUESTION[start] not in said(result)


@pytest.mark.parametrize(("node", "previous"), [
    ("rhi_returned", "rhi_consent"), ("rhi_area", "rhi_returned"), ("rhi_living", "rhi_area"),
    ("rhi_method", "rhi_living"), ("rhi_phone", "rhi_method"), ("rhi_time", "rhi_method"),
    ("rhi_welsh", "rhi_time"), ("rhi_note", "rhi_welsh"), ("rhi_confirm", "rhi_note"),
])
@pytest.mark.parametrize(("lang", "back"), [("cy", "NÔL"), ("cy", "yn ôl"), ("en", "BACK")])
def test_back_during_the_request_questions_goes_to_the_previous_question(
    content: Content, clock: FrozenClock, node: str, previous: str, lang: str, back: str
) -> None:
    state = at(node, lang, consent="v", returned="today", area="cardiff", method="phone")
    result = send(content, state, back, clock.now)
    ctx = Context(clock.now, content, 72)
    assert result.state.node == previous
    assert result.replies == prompt(result.state, ctx)


# Understanding answers: typos, capitals, Welsh forms, numbers, emoji, buttons.

YES = ["YES", "yse", "Ie", "iawn", "ydw", "yes 👍", "👍 ie", "Yes!!", "ie plis", "1", Press("yes")]
NO = ["no", "nope", "not now", "NA", "nage", "dim diolch", "naddo", "nac ydw", "2", Press("no")]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("says", "meaning"),
                         [*((w, "yes") for w in YES), *((w, "no") for w in NO)])
def test_yes_and_no_are_understood_in_either_language_with_typos_capitals_and_emoji(
    content: Content, clock: FrozenClock, lang: str, says: str | Press, meaning: str
) -> None:
    result = send(content, at("rhi_welsh", lang), says, clock.now)
    assert (result.state.node, result.state.answer("welsh")) == ("rhi_note", meaning)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("says", "band"), [
    ("ddoe", "yesterday"), ("Heddiw", "today"), ("heddiw!", "today"), ("yesterday", "yesterday"),
    ("TODAY", "today"), ("yestrday", "yesterday"), ("2 or 3 days ago", "days_2_3"),
    ("2 neu 3 diwrnod yn ôl", "days_2_3"), ("3", "days_2_3"), (Press("longer"), "longer"),
])
def test_the_day_they_got_back_is_understood_in_either_language(
    content: Content, clock: FrozenClock, lang: str, says: str | Press, band: str
) -> None:
    result = send(content, at("rhi_returned", lang, consent="v"), says, clock.now)
    assert (result.state.node, result.state.answer("returned")) == ("rhi_area", band)


@pytest.mark.parametrize(("lang", "says", "kind"), [
    ("cy", "na", "Does dim rhaid i ti"), ("cy", "nage", "Does dim rhaid i ti"),
    ("cy", "dim diolch", "Does dim rhaid i ti"), ("cy", "Na diolch", "Does dim rhaid i ti"),
    ("en", "no", "You don't have to"), ("en", "nope", "You don't have to"),
    ("en", "not now", "You don't have to"), ("en", "No thanks", "You don't have to"),
])
def test_no_to_consent_closes_kindly_records_the_refusal_and_asks_nothing_more(
    content: Content, clock: FrozenClock, lang: str, says: str, kind: str
) -> None:
    [result] = verify_engine_dialog(content, [(says, kind)], now=clock.now,
                                    state=at("rhi_consent", lang))
    [record] = result.effects
    assert isinstance(record, RecordConsent) and not record.granted and record.language == lang
    assert result.state.node == "yp_menu"


@pytest.mark.parametrize(("lang", "labels", "choice"), [
    ("cy", ["Ie", "Na"], "Dy ddewis di yw e."), ("en", ["Yes", "No"], "It's your choice."),
])
def test_consent_offers_exactly_yes_and_no_with_neither_pushed(
    content: Content, clock: FrozenClock, lang: str, labels: list[str], choice: str
) -> None:
    explain, question = send(content, at("yp_menu", lang), "3", clock.now).replies
    assert not explain.options
    assert [(o.key, o.label) for o in question.options] == list(zip(["yes", "no"], labels,
                                                                    strict=True))
    assert question.text.endswith(choice)
    words = {w.strip("?.!,").lower() for w in question.text.split()}
    assert not words & {"yes", "no", "ie", "na"}, "the question itself must not suggest an answer"


# Areas, in either language, with Welsh mutations, towns and slips.


@pytest.mark.parametrize(("lang", "says", "area"), [
    ("cy", "Caerdydd", "cardiff"), ("en", "cardiff", "cardiff"), ("cy", "Nghaerdydd", "cardiff"),
    ("cy", "yng Nghaerdydd", "cardiff"), ("cy", "Gaerdydd", "cardiff"), ("en", "cardif", "cardiff"),
    ("cy", "ym Mhowys", "powys"), ("en", "Aberystwyth", "ceredigion"),
    ("en", "barry", "vale_of_glamorgan"), ("en", "I live in Barry", "vale_of_glamorgan"),
    ("cy", "Abertawe", "swansea"), ("cy", "wrecsam", "wrexham"),
    ("cy", "sir benfro", "pembrokeshire"),
    ("en", "rhyl", "denbighshire"), ("cy", "Pen-y-bont ar Ogwr", "bridgend"),
    ("cy", "Dinbych-y-pysgod", "pembrokeshire"), ("cy", "dwi'n byw yn Y Fenni", "monmouthshire"),
    ("en", "Aberfan", "merthyr_tydfil"), ("en", "the Vale", "vale_of_glamorgan"),
])
def test_an_area_is_understood_by_council_or_town_in_either_language(
    content: Content, clock: FrozenClock, lang: str, says: str, area: str
) -> None:
    living = {"cy": "Wyt ti'n byw gartref neu mewn gofal?", "en": "Do you live at home or in care?"}
    [result] = verify_engine_dialog(content, [(says, living[lang])], now=clock.now,
                                    state=at("rhi_area", lang))
    assert result.state.answer("area") == area


AMBIGUOUS_PLACE: dict[str, EngineDialog] = {
    "cy": [
        ("Caerdydd neu Gasnewydd", ("Pa un wyt ti'n ei feddwl?", "Caerdydd", "Casnewydd",
                                    "Ddim yn siŵr")),
        ("2", "Wyt ti'n byw gartref neu mewn gofal?"),
    ],
    "en": [
        ("Cardiff or Newport", ("Which one do you mean?", "Cardiff", "Newport", "Not sure")),
        ("2", "Do you live at home or in care?"),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_place_that_could_be_two_areas_offers_both_and_not_sure(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, AMBIGUOUS_PLACE[lang], now=clock.now,
                                 state=at("rhi_area", lang))
    assert [o.key for o in steps[0].replies[-1].options] == ["area:cardiff", "area:newport",
                                                             "not_sure"]
    assert steps[-1].state.answer("area") == "newport"


UNKNOWN_PLACE: dict[str, EngineDialog] = {
    "cy": [
        ("Narnia", ("Sori, dwi ddim yn nabod y lle yna", "Ddim yn siŵr")),
        ("ddim yn siŵr", "Wyt ti'n byw gartref neu mewn gofal?"),
    ],
    "en": [
        ("Narnia", ("Sorry, I don't know that place", "Not sure")),
        ("dunno", "Do you live at home or in care?"),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_place_is_asked_again_kindly_and_not_sure_is_accepted(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, UNKNOWN_PLACE[lang], now=clock.now,
                                 state=at("rhi_area", lang))
    assert steps[0].state.node == "rhi_area"
    assert steps[-1].state.answer("area") == ""


# Danger: the urgent reply first, a flag for practitioners, and the same question again.


def test_danger_before_a_language_is_chosen_gets_the_urgent_reply_in_welsh_then_english(
    content: Content, clock: FrozenClock
) -> None:
    result = send(content, State(), "dwi isio marw", clock.now)
    urgent, greeting = result.replies
    assert urgent.urgent and in_order(urgent.text, "Os wyt ti mewn perygl nawr, ffonia 999",
                                      "If you are in danger now, call 999")
    assert "Shwmae!" in greeting.text and [o.key for o in greeting.options] == ["lang_cy",
                                                                               "lang_en"]
    assert result.effects == (FlagUrgent("danger_words"),) and result.state.urgent


DANGER_WORDS = {
    "cy": ["dwi'n mynd i ladd fy hun", "mae o'n fy mrifo"],
    "en": ["I want to kill myself", "he makes me do stuff for money"],
}
DANGER_NODES = [
    ("language", None), ("role", None), ("yp_menu", "young_person"), ("sheet", "young_person"),
    ("rhi_consent", "young_person"), ("rhi_returned", "young_person"),
    ("rhi_area", "young_person"), ("rhi_phone", "young_person"), ("rhi_welsh", "young_person"),
    ("rhi_confirm", "young_person"), ("carer_menu", "parent"), ("carer_menu", "foster"),
]


@pytest.mark.parametrize(("node", "role"), DANGER_NODES)
@pytest.mark.parametrize(("lang", "words"),
                         [(lang, w) for lang in LANGS for w in DANGER_WORDS[lang]])
def test_danger_anywhere_comes_first_flags_urgent_and_the_same_question_is_asked_again(
    content: Content, clock: FrozenClock, node: str, role: str | None, lang: str, words: str
) -> None:
    state = at(node, None if node == "language" else lang, role=role, area="cardiff")
    result = send(content, state, words, clock.now)
    first, *rest = result.replies
    assert first.urgent and not any(r.urgent for r in rest)
    assert "999" in first.text and content.contact("childline.phone").value in first.text
    assert FlagUrgent("danger_words") in result.effects
    assert result.state == replace(state, urgent=True)
    assert tuple(rest) == prompt(result.state, Context(clock.now, content, 72))


@pytest.mark.parametrize("lang", LANGS)
def test_a_request_made_after_danger_words_is_marked_urgent(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    english = lang == "en"
    steps = verify_engine_dialog(content, [
        ("I'm scared", "999"), ("1", ""), ("1", ""), ("1", ""), ("1", ""), ("1", ""), ("2", ""),
        ("skip" if english else "hepgor", ""), ("1", "TEST-CODE"),
    ], now=clock.now, state=at("rhi_returned", lang, consent="v"))
    [request] = steps[-1].effects
    assert isinstance(request, CreateRequest) and request.urgent


# STOP, START, DELETE.

STOPPED: dict[str, EngineDialog] = {
    "cy": [
        ("STOPIO", "wna i ddim anfon mwy o negeseuon. Teipia DECHRAU"),
        ("helo", ()), ("CYMORTH", ()), ("1", ()), (Press("yes"), ()), ("ie", ()),
        ("dwi isio marw", "Os wyt ti mewn perygl nawr, ffonia 999"),
        ("DECHRAU", ("Croeso'n ôl", "Beth hoffet ti ei wneud?")),
    ],
    "en": [
        ("STOP", "I won't send you any more messages. Type START"),
        ("hello", ()), ("HELP", ()), ("1", ()), (Press("yes"), ()), ("yes", ()),
        ("i wanna die", "If you are in danger now, call 999"),
        ("START", ("Welcome back", "What would you like to do?")),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_after_stop_only_start_delete_and_danger_get_a_reply(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, STOPPED[lang], now=clock.now,
                                 state=at("rhi_welsh", lang))
    assert steps[0].effects == (OptOut(),) and steps[0].state.opted_out
    assert all(s.replies == () and s.effects == () for s in steps[1:6])
    assert steps[6].replies[0].urgent and len(steps[6].replies) == 1
    assert OptIn() in steps[-1].effects and not steps[-1].state.opted_out


DELETE: dict[str, EngineDialog] = {
    "cy": [
        ("DILEU", "Wyt ti eisiau dileu dy ddata?"),
        ("na", "does dim byd wedi cael ei ddileu"),
        ("dileu", "Wyt ti eisiau dileu dy ddata?"),
        ("ie", ("Mae dy ddata wedi cael ei ddileu", "Cymraeg", "English")),
    ],
    "en": [
        ("DELETE", "Do you want to delete your data?"),
        ("no", "nothing has been deleted"),
        ("delete my data", "Do you want to delete your data?"),
        ("yes", ("Your data has been deleted", "Cymraeg", "English")),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_delete_asks_first_then_erases_and_starts_afresh(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    state = at("rhi_living", lang, consent="v", area="cardiff")
    steps = verify_engine_dialog(content, DELETE[lang], now=clock.now, state=state)
    assert steps[1].effects == () and steps[1].state.answers == state.answers
    assert steps[-1].effects == (Erase(),) and steps[-1].state == State()


@pytest.mark.parametrize(("lang", "stop", "delete", "yes", "deleted"), [
    ("cy", "STOPIO", "DILEU", "ie", "Mae dy ddata wedi cael ei ddileu"),
    ("en", "STOP", "DELETE", "yes", "Your data has been deleted"),
])
def test_delete_can_still_be_confirmed_after_stop(
    content: Content, clock: FrozenClock, lang: str, stop: str, delete: str, yes: str,
    deleted: str
) -> None:
    steps = verify_engine_dialog(content, [(stop, ""), (delete, "?"), (yes, deleted)],
                                 now=clock.now, state=at("yp_menu", lang))
    assert steps[-1].effects == (Erase(),) and steps[-1].state == State()


def test_a_yes_sent_after_stop_answers_no_question_left_open(
    content: Content, clock: FrozenClock
) -> None:
    steps = verify_engine_dialog(content, [("DELETE", "?"), ("STOP", ""), ("yes", ())],
                                 now=clock.now, state=at("yp_menu", "en"))
    assert steps[-1].replies == () and steps[-1].effects == ()


# Asking for a return home interview, and what happens to the request.

REQUEST: dict[str, EngineDialog] = {
    "cy": [
        ("3", ("un eithriad", "Hoffet ti ofyn am gyfweliad dychwelyd adref?")),
        ("ie", "Pryd daethost ti'n ôl?"),
        ("ddoe", "Ym mha ardal wyt ti'n byw?"),
        ("yng Nghaerdydd", "Wyt ti'n byw gartref neu mewn gofal?"),
        ("nôl", "Ym mha ardal wyt ti'n byw?"),
        ("Abertawe", "Wyt ti'n byw gartref neu mewn gofal?"),
        ("gartref", "Sut hoffet ti i'r gweithiwr gysylltu?"),
        ("galwad ffôn", "Pa rif ddylen nhw ei ddefnyddio?"),
        ("07911 123456", "Pryd mae'n amser da?"),
        ("prynhawn", "Hoffet ti gael gweithiwr sy'n siarad Cymraeg?"),
        ("ydw", "Oes unrhyw beth hoffet ti i'r gweithiwr ei wybod?"),
        ("hepgor", ("Ardal: Abertawe", "Byw: Gartref", "Galwad ffôn (+447911123456)",
                    "Nodyn: (dim byd)", "Anfon")),
        ("anfon", ("Wedi anfon. Dy gyfeirnod yw TEST-CODE", "erbyn diwedd dydd Sul 22 Tachwedd")),
    ],
    "en": [
        ("ask for a return home interview", ("one limit", "It's your choice")),
        ("yes please", "When did you get back?"),
        ("yesterday", "Which area do you live in?"),
        ("cardiff", "Do you live at home or in care?"),
        ("BACK", "Which area do you live in?"),
        ("Swansea", "Do you live at home or in care?"),
        ("at home", "How would you like the worker to get in touch?"),
        ("phone call", "What number should they use?"),
        ("07911 123456", "When is a good time?"),
        ("afternoon", "Would you like a worker who speaks Welsh?"),
        ("yes", "anything you'd like the worker to know"),
        ("skip", ("Area: Swansea", "Living: At home", "Phone call (+447911123456)",
                  "Note: (nothing)", "Send")),
        ("send", ("Sent. Your reference is TEST-CODE", "by the end of Sunday 22 November")),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_whole_request_asks_consent_then_the_questions_and_sends_what_was_answered(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, REQUEST[lang], now=clock.now,
                                 state=at("yp_menu", lang))
    [consent] = steps[1].effects
    assert isinstance(consent, RecordConsent) and consent.granted
    assert consent.wording_version.startswith("rhi-1:")
    [request] = steps[-1].effects
    assert isinstance(request, CreateRequest)
    assert (request.reference, request.language, request.area) == ("TEST-CODE", lang, "swansea")
    assert (request.returned_band, request.in_care) == ("yesterday", "home")
    assert (request.contact_method, request.contact_phone) == ("phone", "+447911123456")
    assert (request.contact_time, request.welsh_worker) == ("afternoon", True)
    assert request.note is None and not request.urgent
    assert request.consent_version == consent.wording_version
    assert steps[-1].state.answers == () and steps[-1].state.node == "yp_menu"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("note", [
    "Mae'r tân wedi diffodd, a dw i'n iawn 👍", "no one listens to me", "na, neb yn gwrando",
    "Nothing happened at school but I'm worried",
])
def test_the_note_is_kept_word_for_word_even_when_it_starts_like_skip(
    content: Content, clock: FrozenClock, lang: str, note: str
) -> None:
    result = send(content, at("rhi_note", lang), f"  {note}\n", clock.now)
    assert (result.state.node, result.state.answer("note")) == ("rhi_confirm", note)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("says", ["skip", "Hepgor", "no", "dim byd", "No thanks", "1",
                                  Press("skip")])
def test_skip_leaves_the_note_empty(
    content: Content, clock: FrozenClock, lang: str, says: str | Press
) -> None:
    result = send(content, at("rhi_note", lang), says, clock.now)
    assert (result.state.node, result.state.answer("note")) == ("rhi_confirm", "")


WALES_MIDNIGHTS = [
    # (now, band, the start of the day they got back in Wales, as UTC)
    (datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "today", datetime(2026, 11, 21, 0, 0, tzinfo=UTC)),
    (datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "yesterday",
     datetime(2026, 11, 20, 0, 0, tzinfo=UTC)),
    # 00:30 in Wales on 15 July (BST) is still 14 July in UTC.
    (datetime(2026, 7, 14, 23, 30, tzinfo=UTC), "today", datetime(2026, 7, 14, 23, 0, tzinfo=UTC)),
    (datetime(2026, 7, 15, 10, 0, tzinfo=UTC), "yesterday",
     datetime(2026, 7, 13, 23, 0, tzinfo=UTC)),
    # Back on Sunday 25 October, the night the clocks go back: 72 real hours, not 73.
    (datetime(2026, 10, 25, 12, 0, tzinfo=UTC), "today", datetime(2026, 10, 24, 23, 0, tzinfo=UTC)),
]


def confirmed(content: Content, now: datetime, band: str) -> CreateRequest:
    """The request sent from the confirm step after answering `band`."""
    state = at("rhi_confirm", "en", consent="v", returned=band, area="", living="home",
               method="chat", time="any", welsh="no", note="")
    [request] = send(content, state, "send", now).effects
    assert isinstance(request, CreateRequest)
    return request


@pytest.mark.parametrize(("now", "band", "midnight"), WALES_MIDNIGHTS)
def test_a_request_is_due_72_hours_from_the_start_of_the_day_they_got_back_in_wales(
    content: Content, now: datetime, band: str, midnight: datetime
) -> None:
    request = confirmed(content, now, band)
    assert request.returned_at == midnight
    assert request.due_at == midnight + timedelta(hours=72)


@pytest.mark.parametrize("band", ["longer", "days_2_3"])
def test_back_longer_ago_or_past_the_target_means_the_worker_should_act_now(
    content: Content, clock: FrozenClock, band: str
) -> None:
    assert confirmed(content, clock.now, band).due_at == clock.now


STATUS: dict[str, EngineDialog] = {
    "cy": [
        ("STATWS", ("Dy gais ABC-234", "yn aros am weithiwr", "Maen nhw'n anelu at gysylltu",
                    "Tynnu fy nghais yn ôl")),
        ("1", "Wyt ti eisiau tynnu dy gais yn ôl?"),
        ("na", "mae dy gais yn dal yno"),
        ("tynnu nôl", "Wyt ti eisiau tynnu dy gais yn ôl?"),
        ("ie", "Mae dy gais ABC-234 wedi cael ei dynnu'n ôl"),
    ],
    "en": [
        ("STATUS", ("Your request ABC-234", "waiting for a worker", "They aim to get in touch",
                    "Withdraw my request")),
        ("1", "Do you want to withdraw your request?"),
        ("no", "your request is still there"),
        ("withdraw", "Do you want to withdraw your request?"),
        ("yes", "Your request ABC-234 has been withdrawn"),
    ],
}


@pytest.mark.parametrize("lang", LANGS)
def test_a_request_can_be_checked_and_withdrawn_after_being_asked_twice(
    content: Content, clock: FrozenClock, lang: str
) -> None:
    steps = verify_engine_dialog(content, STATUS[lang], now=clock.now,
                                 state=at("yp_menu", lang), request=OPEN_REQUEST)
    assert all(s.effects == () for s in steps[:-1])
    withdraw, record = steps[-1].effects
    assert withdraw == WithdrawRequest("ABC-234")
    assert isinstance(record, RecordConsent) and not record.granted


@pytest.mark.parametrize(("lang", "says", "expect"), [
    ("cy", "statws", "Dwyt ti ddim wedi gofyn"), ("en", "my request", "You haven't asked"),
])
def test_status_without_a_request_offers_to_ask_for_one(
    content: Content, clock: FrozenClock, lang: str, says: str, expect: str
) -> None:
    [result] = verify_engine_dialog(content, [(says, expect)], now=clock.now,
                                    state=at("yp_menu", lang))
    assert [o.key for o in result.replies[-1].options] == ["rhi", "menu"]


@pytest.mark.parametrize(("lang", "already"), [
    ("cy", "Rwyt ti wedi gofyn am un yn barod. Dy gyfeirnod yw ABC-234."),
    ("en", "You have already asked for one. Your reference is ABC-234."),
])
def test_an_open_request_is_not_asked_for_twice(
    content: Content, clock: FrozenClock, lang: str, already: str
) -> None:
    [result] = verify_engine_dialog(content, [("3", already)], now=clock.now,
                                    state=at("yp_menu", lang), request=OPEN_REQUEST)
    assert result.state.node == "status" and result.effects == ()


# The state as stored between messages.


def test_a_state_round_trips_through_json() -> None:
    state = State(node="rhi_confirm", lang="cy", role="young_person", sheet="young-person",
                  page=3, answers=(("area", "cardiff"), ("note", "Dwi'n iawn 👍 \u200d")),
                  urgent=True)
    assert State.from_json(state.to_json()) == state


@pytest.mark.parametrize("raw", [
    None, "", "not json", "[]", '"text"', "null", "{", '{"answers": 5}', '{"answers": [["a"]]}',
    '{"page": "two"}', '{"page": -1}', '{"lang": "fr"}', '{"role": "admin"}', '{"node": 3}',
    '{"sheet": "missing"}', '{"opted_out": "yes"}', "[" * 10_000,
])
def test_a_broken_stored_state_starts_afresh(raw: str | None) -> None:
    assert State.from_json(raw) == State()
