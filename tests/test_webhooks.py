"""The Telegram and Twilio webhooks: who may call them, and what they write."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.content import Content
from bot.crypto import Vault
from bot.inbox import Inbox
from bot.models import InboundEvent, OutboxMessage, RhiRequest
from bot.runtime import PUSH_CHANNELS, Runtime
from tests.conftest import FrozenClock
from tests.factories import (
    BASE,
    TG_SECRET,
    TG_TOKEN,
    TW_SID,
    TW_TOKEN,
    post_update,
    signed_sms,
    telegram_update,
)
from webhooks import create_app


@pytest.fixture
def channel_settings(settings: Settings) -> Settings:
    """Settings with both channels configured, as seen from the public address."""
    return replace(settings, public_base_url=BASE, telegram_bot_token=TG_TOKEN,
                   telegram_webhook_secret=TG_SECRET, twilio_account_sid=TW_SID,
                   twilio_auth_token=TW_TOKEN, twilio_from="+447700900000")


@pytest.fixture
def app(channel_settings: Settings, db_engine: Engine, vault: Vault, content: Content,
        clock: FrozenClock) -> Iterator[Flask]:
    """The app with an inbox that writes Telegram and SMS replies to the outbox."""
    inbox = Inbox(db_engine, vault, content, 72, clock, push=PUSH_CHANNELS)
    yield create_app(Runtime(channel_settings, db_engine, vault, content, inbox))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


def count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def outbox_texts(engine: Engine, vault: Vault) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()  # type: ignore[arg-type]
        return [vault.open(r.body_enc) for r in rows]


def test_twilios_own_signature_example_passes_the_validator() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    validator = RequestValidator("12345")
    assert validator.compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_a_signed_sms_is_recorded_and_its_replies_queued_in_the_outbox(
    client: FlaskClient, db_engine: Engine, vault: Vault
) -> None:
    response = signed_sms(client, "Shwmae", "SM" + "1" * 32)
    assert response.status_code == 200 and b"<Response/>" in response.data
    assert count(db_engine, InboundEvent) == 1
    [greeting] = outbox_texts(db_engine, vault)
    assert greeting.index("Shwmae!") < greeting.index("Hi!")
    with Session(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.channel, row.status) == ("sms", "pending")
    assert vault.open(row.recipient_enc) == "+447911123456"
    assert json.loads(row.options) == [["lang_cy", "Cymraeg"], ["lang_en", "English"]]


@pytest.mark.parametrize("problem", ["forged", "missing", "other token", "other url"])
def test_a_badly_signed_sms_is_refused_and_nothing_is_written(
    client: FlaskClient, db_engine: Engine, problem: str
) -> None:
    form = {"MessageSid": "SM" + "2" * 32, "From": "+447911123456", "Body": "hi"}
    url, token = BASE + "/webhooks/twilio/sms", TW_TOKEN
    if problem == "other token":
        token = "not-the-token"
    if problem == "other url":
        url = "https://attacker.example/webhooks/twilio/sms"
    headers = {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}
    if problem == "forged":
        headers = {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
    if problem == "missing":
        headers = {}
    assert client.post("/webhooks/twilio/sms", data=form, headers=headers).status_code == 403
    assert count(db_engine, InboundEvent) == 0 and count(db_engine, OutboxMessage) == 0


def test_a_signature_made_for_different_form_values_is_refused(
    client: FlaskClient, db_engine: Engine
) -> None:
    form = {"MessageSid": "SM" + "3" * 32, "From": "+447911123456", "Body": "hi"}
    signature = RequestValidator(TW_TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", form)
    tampered = {**form, "Body": "STOP"}
    response = client.post("/webhooks/twilio/sms", data=tampered,
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403 and count(db_engine, InboundEvent) == 0


def test_the_same_message_sid_delivered_again_has_no_second_effect(
    client: FlaskClient, db_engine: Engine
) -> None:
    for _ in range(3):
        assert signed_sms(client, "Cymraeg", "SM" + "4" * 32).status_code == 200
    assert count(db_engine, InboundEvent) == 1 and count(db_engine, OutboxMessage) == 1


def test_a_signed_sms_without_a_message_sid_is_a_bad_request(
    client: FlaskClient, db_engine: Engine
) -> None:
    form = {"From": "+447911123456", "Body": "hi"}
    signature = RequestValidator(TW_TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", form)
    response = client.post("/webhooks/twilio/sms", data=form,
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400 and count(db_engine, InboundEvent) == 0


def test_a_telegram_update_with_the_secret_is_recorded_and_answered_through_the_outbox(
    client: FlaskClient, db_engine: Engine, vault: Vault
) -> None:
    assert post_update(client, telegram_update(1, "/start")).status_code == 200
    assert post_update(client, telegram_update(2, "Cymraeg")).status_code == 200
    texts = outbox_texts(db_engine, vault)
    assert "Shwmae!" in texts[0] and "Pwy sy'n ysgrifennu?" in texts[1]
    with Session(db_engine) as session:
        assert {r.channel for r in session.exec(select(OutboxMessage))} == {"telegram"}


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", TG_SECRET + "x"])
def test_a_telegram_update_without_the_right_secret_is_refused_and_nothing_is_written(
    client: FlaskClient, db_engine: Engine, secret: str | None
) -> None:
    assert post_update(client, telegram_update(3, "hi"), secret=secret).status_code == 403
    assert count(db_engine, InboundEvent) == 0


def test_a_pressed_button_is_acknowledged_in_the_webhook_response(
    client: FlaskClient, db_engine: Engine
) -> None:
    post_update(client, telegram_update(10, "hi"))
    press = {"update_id": 11, "callback_query": {
        "id": "cbq-1", "chat_instance": "ci", "data": "lang_en",
        "from": {"id": 4242, "is_bot": False, "first_name": "Sam"},
        "message": {"message_id": 10, "date": 1763737200, "text": "Shwmae! ...",
                    "chat": {"id": 4242, "type": "private"},
                    "reply_markup": {"inline_keyboard": [
                        [{"text": "Cymraeg", "callback_data": "lang_cy"}],
                        [{"text": "English", "callback_data": "lang_en"}]]}}}}
    response = post_update(client, press)
    assert response.get_json() == {"method": "answerCallbackQuery", "callback_query_id": "cbq-1"}
    with Session(db_engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert len(rows) == 2


def test_a_photo_is_not_stored_and_gets_a_kind_text_only_reply(
    client: FlaskClient, db_engine: Engine, vault: Vault
) -> None:
    update = telegram_update(20, "")
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "F", "file_unique_id": "U", "width": 1,
                                   "height": 1}]
    update["message"]["caption"] = "my address is 1 Secret Street"
    assert post_update(client, update).status_code == 200
    reply, question = outbox_texts(db_engine, vault)
    assert "Sori, dim ond negeseuon testun" in reply and "I can only read text" in reply
    assert "Pa iaith hoffet ti?" in question  # and the same question again
    with Session(db_engine) as session:
        event = session.exec(select(InboundEvent)).one()
    assert event.text_enc is None or "Secret" not in vault.open(event.text_enc)


@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
@hypothesis_settings(max_examples=80, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_malformed_telegram_bodies_get_400_never_500(client: FlaskClient, body: bytes) -> None:
    response = client.post("/webhooks/telegram", data=body, content_type="application/json",
                           headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert response.status_code in (200, 400)


@given(update=st.dictionaries(st.sampled_from(["update_id", "message", "callback_query",
                                               "edited_message", "x"]),
                              st.recursive(st.none() | st.booleans() | st.integers()
                                           | st.text(max_size=20),
                                           lambda inner: st.lists(inner, max_size=3)
                                           | st.dictionaries(st.text(max_size=8), inner,
                                                             max_size=3), max_leaves=8)))
@hypothesis_settings(max_examples=120, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_odd_telegram_json_gets_400_or_200_never_500(client: FlaskClient,
                                                     update: dict[str, Any]) -> None:
    assert post_update(client, update).status_code in (200, 400)


@given(form=st.dictionaries(st.sampled_from(["MessageSid", "From", "Body", "To", "Junk"]),
                            st.text(max_size=40), max_size=5))
@hypothesis_settings(max_examples=120, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_odd_signed_sms_forms_get_400_or_200_never_500(client: FlaskClient,
                                                       form: dict[str, str]) -> None:
    path = "/webhooks/twilio/sms"
    signature = RequestValidator(TW_TOKEN).compute_signature(BASE + path, form)
    response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code in (200, 400)


def test_a_message_delivered_five_times_at_once_counts_once(
    app: Flask, db_engine: Engine
) -> None:
    barrier = threading.Barrier(5)
    codes: list[int] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait()
        codes.append(signed_sms(client, "Cymraeg", "SM" + "5" * 32).status_code)
        barrier.wait()
        codes.append(post_update(client, telegram_update(77, "English", chat_id=77)).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 10
    assert count(db_engine, InboundEvent) == 2 and count(db_engine, OutboxMessage) == 2


def test_a_late_status_never_overwrites_delivered(client: FlaskClient, db_engine: Engine
                                                  ) -> None:
    signed_sms(client, "hi", "SM" + "6" * 32)
    with Session(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        row.status, row.provider_message_id = "sent", "SM" + "7" * 32
        session.add(row)
        session.commit()

    def status(value: str, code: str = "") -> int:
        form = {"MessageSid": "SM" + "7" * 32, "MessageStatus": value, "ErrorCode": code}
        path = "/webhooks/twilio/status"
        signature = RequestValidator(TW_TOKEN).compute_signature(BASE + path, form)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        return int(response.status_code)

    assert status("delivered") == 200
    assert status("sent") == 200
    with Session(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.status, row.delivery_status) == ("delivered", "delivered")


def test_error_21610_in_a_status_callback_marks_the_contact_opted_out(
    client: FlaskClient, db_engine: Engine
) -> None:
    from bot.models import Contact

    signed_sms(client, "hi", "SM" + "8" * 32)
    with Session(db_engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        row.status, row.provider_message_id = "sent", "SM" + "9" * 32
        session.add(row)
        session.commit()
    form = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "undelivered", "ErrorCode": "21610"}
    path = "/webhooks/twilio/status"
    signature = RequestValidator(TW_TOKEN).compute_signature(BASE + path, form)
    assert client.post(path, data=form, headers={"X-Twilio-Signature": signature}
                       ).status_code == 200
    with Session(db_engine) as session:
        contact = session.exec(select(Contact)).one()
        row = session.exec(select(OutboxMessage)).one()
    assert contact.opted_out_at is not None and row.status == "failed"
    assert count(db_engine, RhiRequest) == 0
