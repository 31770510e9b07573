"""Whole requests over the real channels: signed webhook -> Flask -> database -> outbox ->
dispatcher -> the real client library -> a fake provider API on loopback."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import Contact, OutboxMessage, RhiRequest
from bot.outbox import Dispatcher
from bot.runtime import PUSH_CHANNELS, Runtime
from bot.worker import senders
from tests.conftest import FrozenClock
from tests.conversations import ENGLISH_BY_TELEGRAM, WELSH_BY_SMS
from tests.factories import BASE, TG_SECRET, TG_TOKEN, TW_SID, TW_TOKEN, post_update, signed_sms
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from webhooks import create_app


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegramAPI, FakeTwilioAPI]]:
    """Both providers' APIs, faked on loopback."""
    with FakeTelegramAPI(TG_TOKEN) as telegram, FakeTwilioAPI(TW_SID, TW_TOKEN) as twilio:
        yield telegram, twilio


@pytest.fixture
def world(settings: Settings, db_engine: Engine, vault: Vault, content: Content,
          clock: FrozenClock, fakes: tuple[FakeTelegramAPI, FakeTwilioAPI]
          ) -> tuple[FlaskClient, Dispatcher, Settings]:
    """The app and a dispatcher whose senders point at the fakes."""
    telegram, twilio = fakes
    configured = replace(
        settings, public_base_url=BASE, telegram_bot_token=TG_TOKEN,
        telegram_webhook_secret=TG_SECRET, telegram_api_base_url=telegram.base_url,
        twilio_account_sid=TW_SID, twilio_auth_token=TW_TOKEN, twilio_from="+447700900000",
        twilio_api_base_url=twilio.base_url)
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    app = create_app(Runtime(configured, db_engine, vault, content, inbox))
    return app.test_client(), Dispatcher(db_engine, vault, senders(configured), clock=clock), \
        configured


@asynccontextmanager
async def started(dispatcher: Dispatcher) -> AsyncIterator[None]:
    """The dispatcher's senders opened for the block and closed after it."""
    for sender in dispatcher.senders.values():
        await sender.start()
    try:
        yield
    finally:
        for sender in dispatcher.senders.values():
            await sender.stop()


async def _converse(client: FlaskClient, dispatcher: Dispatcher,
                    messages: list[tuple[str, str]], channel: str) -> None:
    ids = itertools.count(1)
    async with started(dispatcher):
        for text, _ in messages:
            n = next(ids)
            if channel == "sms":
                assert signed_sms(client, text, f"SM{n:032d}").status_code == 200
            else:
                update = {"update_id": n, "message": {
                    "message_id": n, "date": 1763737200, "text": text,
                    "chat": {"id": 4242, "type": "private"},
                    "from": {"id": 4242, "is_bot": False, "first_name": "Sam"}}}
                assert post_update(client, update).status_code == 200
            while await dispatcher.run_once():
                pass


def _in_order(received: list[str], expected: list[str]) -> None:
    position = 0
    for fragment in expected:
        while position < len(received) and fragment not in received[position]:
            position += 1
        assert position < len(received), f"{fragment!r} never arrived (in order): {received}"


def test_a_full_welsh_request_by_sms_reaches_twilio_in_order(
    world: tuple[FlaskClient, Dispatcher, Settings], fakes: tuple[FakeTelegramAPI, FakeTwilioAPI],
    db_engine: Engine
) -> None:
    client, dispatcher, _ = world
    asyncio.run(_converse(client, dispatcher, WELSH_BY_SMS, "sms"))
    calls = fakes[1].calls_to("Messages.create")
    bodies = [c.params["Body"] for c in calls]
    _in_order(bodies, [bot for _, bot in WELSH_BY_SMS])
    assert {c.params["To"] for c in calls} == {"+447911123456"}
    assert all(c.params["StatusCallback"] == f"{BASE}/webhooks/twilio/status" for c in calls)
    assert any("ŵ" in body for body in bodies)  # Welsh letters kept, never stripped
    with Session(db_engine) as session:
        [request] = session.exec(select(RhiRequest)).all()
        rows = session.exec(select(OutboxMessage)).all()
    assert (request.channel, request.language, request.area) == ("sms", "cy", "wrexham")
    assert request.contact_method == "text" and request.contact_phone_enc is None
    assert {r.status for r in rows} == {"sent"} and len(rows) == len(calls)


def test_a_full_english_request_by_telegram_reaches_the_bot_api_in_order(
    world: tuple[FlaskClient, Dispatcher, Settings], fakes: tuple[FakeTelegramAPI, FakeTwilioAPI],
    db_engine: Engine
) -> None:
    client, dispatcher, _ = world
    asyncio.run(_converse(client, dispatcher, ENGLISH_BY_TELEGRAM, "telegram"))
    sends = fakes[0].calls_to("sendMessage")
    _in_order([c.params["text"] for c in sends], [bot for _, bot in ENGLISH_BY_TELEGRAM])
    assert {str(c.params["chat_id"]) for c in sends} == {"4242"}
    assert any("inline_keyboard" in str(c.params.get("reply_markup", "")) for c in sends)
    with Session(db_engine) as session:
        [request] = session.exec(select(RhiRequest)).all()
    assert (request.channel, request.language, request.area) == ("telegram", "en", "ceredigion")


@pytest.mark.parametrize("failure", ["500", "429", "timeout"])
def test_a_provider_that_fails_for_a_while_still_gets_every_message(
    world: tuple[FlaskClient, Dispatcher, Settings], fakes: tuple[FakeTelegramAPI, FakeTwilioAPI],
    db_engine: Engine, clock: FrozenClock, failure: str
) -> None:
    client, dispatcher, _ = world
    fakes[1].fail_next(failure, times=2)

    async def run() -> None:
        async with started(dispatcher):
            assert signed_sms(client, "hi", "SM" + "1" * 32).status_code == 200
            for _ in range(4):
                await dispatcher.run_once()
                with Session(db_engine) as session:
                    row = session.exec(select(OutboxMessage)).one()
                clock.now = max(clock.now, row.next_attempt_at)

    asyncio.run(run())
    with Session(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("sent", 3)
    delivered = [c for c in fakes[1].calls_to("Messages.create") if c.params.get("Body")]
    assert "Shwmae!" in delivered[-1].params["Body"]


# A Twilio 403 is our account's problem, not the person's: the message dies, nobody is marked.
@pytest.mark.parametrize("channel,failure,marked", [("sms", "21610", True), ("sms", "403", False),
                                                    ("telegram", "403", True)])
def test_a_permanent_error_is_not_retried_and_a_gone_recipient_is_marked(
    world: tuple[FlaskClient, Dispatcher, Settings], fakes: tuple[FakeTelegramAPI, FakeTwilioAPI],
    db_engine: Engine, clock: FrozenClock, channel: str, failure: str, marked: bool
) -> None:
    client, dispatcher, _ = world
    fake = fakes[1] if channel == "sms" else fakes[0]
    fake.fail_next(failure, times=1)

    async def run() -> None:
        async with started(dispatcher):
            if channel == "sms":
                signed_sms(client, "hi", "SM" + "2" * 32)
            else:
                post_update(client, {"update_id": 9, "message": {
                    "message_id": 9, "date": 1763737200, "text": "hi",
                    "chat": {"id": 4242, "type": "private"}}})
            for _ in range(3):
                await dispatcher.run_once()
                clock.now = clock.now.replace(hour=clock.now.hour + 1)

    asyncio.run(run())
    with Session(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        contact = session.exec(select(Contact)).one()
    assert (row.status, row.attempts) == ("dead", 1)
    assert (contact.opted_out_at is not None) is marked
    sends = "Messages.create" if channel == "sms" else "sendMessage"
    assert len(fake.calls_to(sends)) == 1  # tried once, never again


def test_a_workers_message_reaches_the_young_persons_telegram_chat_in_their_language(
    world: tuple[FlaskClient, Dispatcher, Settings], fakes: tuple[FakeTelegramAPI, FakeTwilioAPI],
    db_engine: Engine, vault: Vault, content: Content, clock: FrozenClock
) -> None:
    from bot import messages
    from bot.casework import Actor, claim
    from bot.db import session_scope
    from tests.factories import make_people

    client, dispatcher, _ = world
    asyncio.run(_converse(client, dispatcher, ENGLISH_BY_TELEGRAM, "telegram"))
    people = make_people(db_engine, content, vault)
    alice = Actor(people.alice.id, "practitioner", frozenset({"ceredigion"}))
    with session_scope(db_engine) as session:
        [request] = session.exec(select(RhiRequest)).all()
        assert claim(session, alice, request.reference, clock.now).claimed
        sent = messages.send(session, vault, content, alice, request.reference,
                             "Hi, it's Alice. Is tomorrow at 4 OK?", "form-1", clock.now)
    assert sent.ok and sent.channel == "telegram"

    async def drain() -> None:
        async with started(dispatcher):
            while await dispatcher.run_once():
                pass

    asyncio.run(drain())
    last = fakes[0].calls_to("sendMessage")[-1]
    assert str(last.params["chat_id"]) == "4242"
    assert last.params["text"].startswith("A message from your worker")
    assert "Is tomorrow at 4 OK?" in last.params["text"]
