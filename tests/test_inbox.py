"""Whole journeys through the inbox and a real database, in Welsh and in English."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.channels import Received
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import ConsentRecord, Contact, Conversation, InboundEvent, RequestEvent, RhiRequest
from tests.dialog import Dialog, said, send, verify_dialog
from tests.factories import stored_bytes

WELSH_REQUEST: Dialog = [
    ("Shwmae", ("Shwmae!", "Hi!", "Cymraeg", "English")),
    ("Cymraeg", "Pwy sy'n ysgrifennu?"),
    ("person ifanc", "Beth hoffet ti ei wneud?"),
    ("3", ("un eithriad", "Hoffet ti ofyn am gyfweliad dychwelyd adref?", "Ie", "Na")),
    ("ie", "Pryd daethost ti'n ôl?"),
    ("ddoe", "Ym mha ardal wyt ti'n byw?"),
    ("dwi'n byw yng Nghaerffili", "Wyt ti'n byw gartref neu mewn gofal?"),
    ("mewn gofal", "Sut hoffet ti i'r gweithiwr gysylltu?"),
    ("neges destun", "Pa rif ddylen nhw ei ddefnyddio?"),
    ("07911 123456", "Pryd mae'n amser da?"),
    ("gyda'r nos", "Hoffet ti gael gweithiwr sy'n siarad Cymraeg?"),
    ("ie", "Oes unrhyw beth hoffet ti i'r gweithiwr ei wybod?"),
    ("Dwi eisiau siarad am yr ysgol", ("Ardal: Caerffili", "Byw: Mewn gofal",
                                       "Nodyn: Dwi eisiau siarad am yr ysgol", "Anfon")),
    ("anfon", ("Wedi anfon. Dy gyfeirnod yw", "erbyn diwedd dydd Sul 22 Tachwedd")),
]


def requests(engine: Engine) -> list[RhiRequest]:
    with Session(engine) as session:
        return list(session.exec(select(RhiRequest)))


def test_a_full_welsh_request_is_stored_as_answered_with_its_consent(
    inbox: Inbox, db_engine: Engine, vault: Vault
) -> None:
    outcomes = verify_dialog(inbox, WELSH_REQUEST)
    [request] = requests(db_engine)
    assert request.reference in said(outcomes[-1])
    assert (request.language, request.channel, request.area) == ("cy", "web", "caerphilly")
    assert (request.returned_band, request.in_care) == ("yesterday", "care")
    assert (request.contact_method, request.contact_time) == ("text", "evening")
    assert request.welsh_worker and not request.urgent and request.status == "queued"
    assert request.contact_phone_enc and vault.open(request.contact_phone_enc) == "+447911123456"
    assert request.note_enc and vault.open(request.note_enc) == "Dwi eisiau siarad am yr ysgol"
    # Back yesterday (from midnight, Wales time) plus 72 hours.
    assert request.due_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with Session(db_engine) as session:
        [consent] = session.exec(select(ConsentRecord)).all()
        kinds = session.exec(select(RequestEvent.kind)).all()
    assert consent.granted and consent.request_id == request.id
    assert (consent.language, consent.channel) == ("cy", "web")
    assert consent.wording_version.startswith("rhi-1:")
    assert kinds == ["created"]


def test_an_english_request_by_phone_call_keeps_the_number_and_the_note(
    inbox: Inbox, db_engine: Engine, vault: Vault
) -> None:
    verify_dialog(inbox, [
        ("hello", "Which language would you like?"),
        ("english", "Who is writing?"),
        ("I'm a young person", "What would you like to do?"),
        ("ask for a return home interview", "It's your choice"),
        ("yes", "When did you get back?"),
        ("today", "Which area"),
        ("Barry", "home or in care"),
        ("3", "How would you like the worker to get in touch?"),
        ("phone call", "What number should they use?"),
        ("not a number", "doesn't look like a UK phone number"),
        ("+44 29 2087 2087", "When is a good time?"),
        ("any time", "speaks Welsh"),
        ("no", "anything you'd like the worker to know"),
        ("skip", ("Area: Vale of Glamorgan", "Living: I'd rather not say", "Note: (nothing)")),
        ("send", ("Sent. Your reference is", "by the end of Monday 23 November")),
    ])
    [request] = requests(db_engine)
    assert (request.language, request.in_care) == ("en", "unsaid")
    assert request.area == "vale_of_glamorgan"
    assert request.contact_method == "phone" and not request.welsh_worker
    assert request.contact_phone_enc and vault.open(request.contact_phone_enc) == "+442920872087"
    assert request.note_enc is None


def test_no_to_consent_closes_kindly_records_the_refusal_and_queues_nothing(
    inbox: Inbox, db_engine: Engine
) -> None:
    for address, lang, role, no, kind in (
        ("cy-1", "cymraeg", "1", "na", "Does dim rhaid i ti"),
        ("en-1", "english", "1", "no thanks", "You don't have to"),
    ):
        verify_dialog(inbox, [("hi", "Shwmae"), (lang, "?"), (role, "?"), ("3", "?"),
                              (no, kind)], address=address)
    assert requests(db_engine) == []
    with Session(db_engine) as session:
        records = session.exec(select(ConsentRecord)).all()
    assert [(r.granted, r.language) for r in records] == [(False, "cy"), (False, "en")]


def _request_in(inbox: Inbox, lang: str, address: str) -> None:
    english = lang == "en"
    verify_dialog(inbox, [
        ("hi", "Shwmae"), ("english" if english else "cymraeg", "?"), ("1", "?"), ("3", "?"),
        ("yes" if english else "ie", "?"), ("today" if english else "heddiw", "?"),
        ("not sure" if english else "ddim yn siŵr", "?"), ("1", "?"), ("1", "?"),
        ("4", "?"), ("2", "?"), ("skip" if english else "hepgor", "?"),
        ("send" if english else "anfon", "Sent" if english else "Wedi anfon"),
    ], address=address)


def test_a_request_can_be_checked_and_withdrawn_in_welsh_and_english(
    inbox: Inbox, db_engine: Engine
) -> None:
    _request_in(inbox, "cy", "cy-2")
    _request_in(inbox, "en", "en-2")
    verify_dialog(inbox, [
        ("statws", ("Dy gais", "yn aros am weithiwr", "Tynnu fy nghais yn ôl")),
        ("tynnu fy nghais yn ôl", "Wyt ti eisiau tynnu dy gais yn ôl?"),
        ("ie", ("wedi cael ei dynnu'n ôl", "Galli di ofyn eto")),
    ], address="cy-2")
    verify_dialog(inbox, [
        ("my request", ("Your request", "waiting for a worker")),
        ("withdraw", "Do you want to withdraw your request?"),
        ("no", "your request is still there"),
        ("withdraw", "Do you want to withdraw"),
        ("yes", "has been withdrawn"),
        ("status", "withdrawn."),
    ], address="en-2")
    assert sorted(r.status for r in requests(db_engine)) == ["withdrawn", "withdrawn"]
    with Session(db_engine) as session:
        withdrawals = session.exec(
            select(ConsentRecord).where(ConsentRecord.wording_version == "withdrawal")).all()
    assert [w.granted for w in withdrawals] == [False, False]


def test_stop_silences_the_bot_until_start_in_both_languages(
    inbox: Inbox, db_engine: Engine
) -> None:
    for address, lang, stop, start, back in (
        ("cy-3", "cymraeg", "STOP", "dechrau", "Croeso'n ôl"),
        ("en-3", "english", "stop", "START", "Welcome back"),
    ):
        verify_dialog(inbox, [("hi", "Shwmae"), (lang, "?"), ("1", "?")], address=address)
        stopped = send(inbox, stop, address=address)
        assert "START" in said(stopped) or "DECHRAU" in said(stopped)
        assert send(inbox, "hello?", address=address).replies == ()
        assert send(inbox, "3", address=address).replies == ()
        with Session(db_engine) as session:
            contact = session.exec(select(Contact).order_by(col(Contact.id).desc())).first()
            assert contact is not None and contact.opted_out_at is not None
        verify_dialog(inbox, [(start, back)], address=address)
    with Session(db_engine) as session:
        assert all(c.opted_out_at is None for c in session.exec(select(Contact)))


def test_delete_leaves_no_personal_data_and_withdraws_the_request(
    inbox: Inbox, db_engine: Engine, settings: object
) -> None:
    verify_dialog(inbox, WELSH_REQUEST, address="07911-secret-address")
    verify_dialog(inbox, [
        ("DILEU", "Wyt ti eisiau dileu dy ddata?"),
        ("na", "does dim byd wedi cael ei ddileu"),
        ("dileu", "dileu dy ddata"),
        ("ie", "Mae dy ddata wedi cael ei ddileu"),
    ], address="07911-secret-address")
    with Session(db_engine) as session:
        assert session.exec(select(Contact)).all() == []
        assert session.exec(select(Conversation)).all() == []
        events = session.exec(select(InboundEvent)).all()
        assert events and all(e.text_enc is None and e.contact_id is None for e in events)
        [request] = session.exec(select(RhiRequest)).all()
        assert request.status == "withdrawn" and request.contact_id is None
        assert request.note_enc is None and request.contact_phone_enc is None
        consents = session.exec(select(ConsentRecord)).all()
        assert consents and all(c.contact_id is None for c in consents)
    # A new message from the same address starts afresh, with the bilingual greeting.
    assert "Shwmae!" in said(send(inbox, "helo", address="07911-secret-address"))


def test_danger_gets_999_and_childline_first_and_flags_the_request_urgent(
    inbox: Inbox, db_engine: Engine
) -> None:
    _request_in(inbox, "cy", "cy-4")
    outcome = send(inbox, "dwi'n mynd i ladd fy hun", address="cy-4")
    first = outcome.replies[0]
    assert first.urgent and "999" in first.text and "0800 1111" in first.text
    assert "Sori" not in said(outcome)  # no "didn't understand" after a cry for help
    assert len(outcome.replies) > 1 and outcome.replies[-1].options  # and it carries on
    outcome = send(inbox, "he makes me do stuff for money", address="en-4")
    assert outcome.replies[0].urgent and outcome.replies[0].text.index("999") < 60
    assert "Os wyt ti mewn perygl nawr" in outcome.replies[0].text  # language unknown: both
    with Session(db_engine) as session:
        [request] = session.exec(select(RhiRequest)).all()
        assert request.urgent
        assert all(c.urgent for c in session.exec(select(Contact)))
        kinds = session.exec(select(RequestEvent.kind)).all()
    assert "flagged_urgent" in kinds


def test_a_redelivered_message_has_no_second_effect(inbox: Inbox, db_engine: Engine) -> None:
    def deliver(text: str, provider_id: str) -> tuple[str, bool]:
        outcome = inbox.receive(Received("web", "re-1", provider_id, text))
        return said(outcome), outcome.duplicate

    for n, text in enumerate(["hi", "english", "1", "3"]):
        deliver(text, f"p{n}")
    assert deliver("yes", "p-yes")[1] is False
    again, duplicate = deliver("yes", "p-yes")
    assert duplicate and again == ""
    with Session(db_engine) as session:
        assert len(session.exec(select(ConsentRecord)).all()) == 1
        assert len(session.exec(select(InboundEvent)).all()) == 5


def test_nothing_personal_is_stored_in_clear(inbox: Inbox, db_engine: Engine) -> None:
    verify_dialog(inbox, WELSH_REQUEST, address="chat-secret-4242")
    raw = stored_bytes(db_engine)
    assert b"caerphilly" in raw  # the scan does see what is stored in clear: the area
    for secret in (b"chat-secret-4242", b"7911123456", b"Dwi eisiau siarad"):
        assert secret not in raw
