"""Telegram: updates in, messages out through the real library, webhook commands."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram import TelegramSender, keyboard, parse
from bot.cli_channels import telegram as telegram_cli
from bot.engine import Option
from bot.outbox import Outgoing, TransportError
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegramAPI
from tests.process import CONFIG_VARIABLES

CHAT = 4242
SAM = {"id": CHAT, "is_bot": False, "first_name": "Sam", "language_code": "cy"}
# A client timeout far below the fake's hang, so a timeout test takes a fraction of a second.
CLIENT_TIMEOUT = 0.3


def message_update(update_id: int = 7, chat_type: str = "private", **fields: Any
                   ) -> dict[str, Any]:
    """An update with a message from Sam in a chat of the given type."""
    chat = {"id": CHAT if chat_type == "private" else -100123, "type": chat_type}
    return {"update_id": update_id,
            "message": {"message_id": 1, "date": 1_790_000_000, "chat": chat, "from": SAM,
                        **fields}}


def press_update(data: str, buttons: list[tuple[str, str]] | None = None,
                 chat_type: str = "private") -> dict[str, Any]:
    """An update for Sam pressing a button on one of the bot's messages."""
    message: dict[str, Any] = {"message_id": 2, "date": 1_790_000_000,
                               "chat": {"id": CHAT, "type": chat_type}, "text": "Ie neu na?"}
    if buttons is not None:
        message["reply_markup"] = {"inline_keyboard": [[{"text": label, "callback_data": key}]
                                                       for key, label in buttons]}
    return {"update_id": 8, "callback_query": {"id": "cbq-1", "from": SAM, "chat_instance": "ci",
                                               "data": data, "message": message}}


# Reading updates


def test_it_reads_a_private_text_message() -> None:
    parsed = parse(message_update(text="Shwmae"))
    assert parsed is not None
    received = parsed.received
    assert (received.channel, received.address, received.provider_id) == ("telegram", "4242", "7")
    assert (received.text, received.payload, received.lang_hint) == ("Shwmae", None, "cy")
    assert (parsed.callback_query_id, parsed.media, received.media) == (None, False, False)


def test_a_pressed_button_reads_as_its_label_with_the_key_as_payload() -> None:
    parsed = parse(press_update("no", [("yes", "Ie"), ("no", "Na")]))
    assert parsed is not None
    assert (parsed.received.text, parsed.received.payload) == ("Na", "no")
    assert (parsed.received.address, parsed.callback_query_id) == ("4242", "cbq-1")


def test_a_pressed_button_without_its_keyboard_reads_as_its_key() -> None:
    parsed = parse(press_update("yes"))
    assert parsed is not None
    assert (parsed.received.text, parsed.received.payload) == ("yes", "yes")


MEDIA: dict[str, Any] = {
    "photo": [{"file_id": "SECRET-file-id", "file_unique_id": "u1", "width": 90,
               "height": 90}],
    "sticker": {"file_id": "SECRET-file-id", "file_unique_id": "u1", "type": "regular",
                "width": 512, "height": 512, "is_animated": False, "is_video": False},
    "voice": {"file_id": "SECRET-file-id", "file_unique_id": "u1", "duration": 3},
    "audio": {"file_id": "SECRET-file-id", "file_unique_id": "u1", "duration": 3},
    "video": {"file_id": "SECRET-file-id", "file_unique_id": "u1", "width": 9, "height": 9,
              "duration": 3},
    "video_note": {"file_id": "SECRET-file-id", "file_unique_id": "u1", "length": 240,
                   "duration": 3},
    "document": {"file_id": "SECRET-file-id", "file_unique_id": "u1",
                 "file_name": "SECRET-diary.pdf"},
    "animation": {"file_id": "SECRET-file-id", "file_unique_id": "u1", "width": 9, "height": 9,
                  "duration": 3},
    "location": {"latitude": 51.481583, "longitude": -3.17909},
    "venue": {"location": {"latitude": 51.481583, "longitude": -3.17909},
              "title": "SECRET place", "address": "SECRET street"},
    "contact": {"phone_number": "+447911123456", "first_name": "SECRET friend"},
}


@pytest.mark.parametrize("kind", list(MEDIA))
def test_media_is_flagged_and_nothing_it_carries_is_kept(kind: str) -> None:
    parsed = parse(message_update(**{kind: MEDIA[kind]}))
    assert parsed is not None and parsed.media and parsed.received.media
    assert parsed.received.text == "" and parsed.received.payload is None
    kept = repr(parsed)
    for secret in ("SECRET", "7911", "51.48", "3.179"):
        assert secret not in kept


def test_a_caption_goes_with_its_photo_and_is_not_kept() -> None:
    parsed = parse(message_update(photo=MEDIA["photo"], caption="my address is SECRET"))
    assert parsed is not None and parsed.media and parsed.received.text == ""
    assert "SECRET" not in repr(parsed)


@pytest.mark.parametrize("update", [
    {"update_id": 1, "edited_message": message_update(text="edited")["message"]},
    {"update_id": 1, "channel_post": {**message_update(text="post")["message"],
                                      "chat": {"id": -100, "type": "channel"}}},
    {"update_id": 1, "my_chat_member": {
        "chat": {"id": CHAT, "type": "private"}, "from": SAM, "date": 1_790_000_000,
        "old_chat_member": {"status": "member", "user": SAM},
        "new_chat_member": {"status": "kicked", "user": SAM, "until_date": 0}}},
    message_update(chat_type="group", text="hi all"),
    message_update(chat_type="supergroup", text="hi all"),
    press_update("yes", [("yes", "Ie")], chat_type="group"),
    {"update_id": 1, "callback_query": {"id": "q", "from": SAM, "chat_instance": "c",
                                        "inline_message_id": "i", "data": "yes"}},
    {"update_id": 1},
], ids=["edited", "channel-post", "my-chat-member", "group", "supergroup", "group-button",
        "inline-button", "empty"])
def test_updates_other_than_private_messages_and_presses_are_ignored(
    update: dict[str, Any]
) -> None:
    assert parse(update) is None


@pytest.mark.parametrize("update", [
    {},
    {"update_id": "7", "message": message_update(text="hi")["message"]},
    {"update_id": True},
    {"update_id": 7.0},
    {"update_id": 7, "message": "hi"},
    {"update_id": 7, "message": {"chat": {"id": CHAT, "type": "private"}, "text": "no date"}},
    message_update(text=5),
    {"update_id": 7, "message": {**message_update(text="hi")["message"],
                                 "chat": {"id": "4242", "type": "private"}}},
    {"update_id": 7, "message": {**message_update(text="hi")["message"], "date": 10**20}},
    {"update_id": 7, "callback_query": {**press_update("yes")["callback_query"], "data": 5}},
    {"update_id": 7, "callback_query": {**press_update("yes")["callback_query"],
                                        "message": {"reply_markup": {"inline_keyboard": 5}}}},
])
def test_malformed_updates_raise_value_error(update: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse(update)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)
ALMOST = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=0) | JSON},
    optional={
        "message": st.fixed_dictionaries(
            {"message_id": st.integers() | JSON, "date": st.integers() | JSON,
             "chat": st.fixed_dictionaries({"id": st.integers() | JSON,
                                            "type": st.sampled_from(["private", "group"])})},
            optional={"text": st.text() | JSON, "caption": JSON, "from": JSON, "photo": JSON,
                      "reply_markup": JSON, "contact": JSON}),
        "callback_query": st.fixed_dictionaries(
            {"id": st.text() | JSON, "from": st.just(SAM) | JSON, "chat_instance": st.text()},
            optional={"data": st.text() | JSON, "message": JSON}),
        "edited_message": JSON,
    },
)


@given(st.dictionaries(st.text(), JSON, max_size=4) | ALMOST)
def test_any_json_is_parsed_or_refused_with_value_error(data: dict[str, Any]) -> None:
    with contextlib.suppress(ValueError):
        parse(data)


# Keyboards


def test_options_become_inline_buttons_one_to_a_row() -> None:
    markup = keyboard((Option("yes", "Ie"), Option("no", "Na")))
    assert markup is not None
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("Ie", "yes")], [("Na", "no")]]
    assert keyboard(()) is None


def test_a_key_too_long_for_telegram_is_cut_at_a_character_not_a_byte() -> None:
    markup = keyboard((Option("area:" + "ŵ" * 40, "Rhywle"),))
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data
    assert isinstance(data, str) and len(data.encode()) <= 64 and data.startswith("area:ŵ")


# Sending through python-telegram-bot to the fake Bot API


@pytest.fixture
def api() -> Iterator[FakeTelegramAPI]:
    """A fake Bot API that holds a "timeout" request for one second at most."""
    with FakeTelegramAPI(hang=1.0) as fake:
        yield fake


def outgoing(text: str = "Hoffet ti ofyn am gyfweliad? Dy ddewis di yw e.",
             options: tuple[Option, ...] = (Option("yes", "Ie"), Option("no", "Na"))
             ) -> Outgoing:
    """A message to Sam as the dispatcher leases it."""
    return Outgoing(id=1, channel="telegram", recipient=str(CHAT), text=text, options=options,
                    language="cy")


def send(api: FakeTelegramAPI, message: Outgoing, token: str = TEST_TOKEN) -> str:
    """Start a sender, send one message, stop it."""

    async def run() -> str:
        sender = TelegramSender(token, api.base_url, timeout=CLIENT_TIMEOUT)
        await sender.start()
        try:
            return await sender.send(message)
        finally:
            await sender.stop()

    return asyncio.run(run())


def failed(api: FakeTelegramAPI, kind: str) -> TransportError:
    """The error a send raises when the Bot API fails in this way."""
    api.fail_next(kind)
    with pytest.raises(TransportError) as caught:
        send(api, outgoing())
    return caught.value


def test_it_sends_the_text_with_the_options_as_buttons(api: FakeTelegramAPI) -> None:
    assert send(api, outgoing()) == "1"
    [call] = api.calls_to("sendMessage")
    assert call.params["chat_id"] == "4242"
    assert call.params["text"] == "Hoffet ti ofyn am gyfweliad? Dy ddewis di yw e."
    assert call.params["reply_markup"] == {"inline_keyboard": [
        [{"text": "Ie", "callback_data": "yes"}], [{"text": "Na", "callback_data": "no"}]]}


def test_a_message_without_options_has_no_keyboard(api: FakeTelegramAPI) -> None:
    send(api, outgoing(options=()))
    [call] = api.calls_to("sendMessage")
    assert "reply_markup" not in call.params


def test_a_text_longer_than_telegram_allows_is_cut_at_a_line(api: FakeTelegramAPI) -> None:
    send(api, outgoing("\n".join(["Llinell hir o destun ŵ."] * 400)))
    [call] = api.calls_to("sendMessage")
    assert len(call.params["text"]) <= 4096 and call.params["text"].endswith("ŵ.")


def test_a_blocked_bot_is_a_permanent_failure(api: FakeTelegramAPI) -> None:
    error = failed(api, "403")
    assert error.permanent and "blocked" in str(error)


def test_a_chat_that_does_not_exist_is_a_permanent_failure(api: FakeTelegramAPI) -> None:
    assert failed(api, "400").permanent


# python-telegram-bot 22 itself warns when it builds RetryAfter with a number of seconds.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_flood_control_waits_as_long_as_telegram_asks(api: FakeTelegramAPI) -> None:
    error = failed(api, "429")
    assert not error.permanent and error.retry_after == 3.0


def test_a_server_error_is_retried(api: FakeTelegramAPI) -> None:
    error = failed(api, "500")
    assert not error.permanent and error.retry_after is None


def test_a_timeout_is_retried_and_does_not_wait_for_the_server(api: FakeTelegramAPI) -> None:
    started = time.monotonic()
    error = failed(api, "timeout")
    assert not error.permanent and "timed out" in str(error)
    assert time.monotonic() - started < 1.0


def test_a_refused_token_is_retried_not_blamed_on_the_person(api: FakeTelegramAPI) -> None:
    async def run() -> None:
        sender = TelegramSender("999:WRONG", api.base_url, timeout=CLIENT_TIMEOUT)
        try:
            await sender.send(outgoing())
        finally:
            await sender.stop()

    with pytest.raises(TransportError) as caught:
        asyncio.run(run())
    assert not caught.value.permanent


def test_the_next_send_after_a_failure_goes_through(api: FakeTelegramAPI) -> None:
    failed(api, "500")
    assert send(api, outgoing()) == "1"


def test_a_pressed_button_is_answered(api: FakeTelegramAPI) -> None:
    async def run() -> bool:
        sender = TelegramSender(TEST_TOKEN, api.base_url, timeout=CLIENT_TIMEOUT)
        try:
            return await sender.answer_callback("cbq-1")
        finally:
            await sender.stop()

    assert asyncio.run(run()) is True
    [call] = api.calls_to("answerCallbackQuery")
    assert call.params == {"callback_query_id": "cbq-1"}


# `adref telegram ...` against the fake Bot API


@pytest.fixture
def runner(api: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """A CLI runner configured for the fake Bot API and nothing else."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.base_url)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "a-long_webhook-secret-123")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://adref.example")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_the_webhook_is_set_shown_and_deleted_through_the_bot_api(
    runner: CliRunner, api: FakeTelegramAPI
) -> None:
    result = runner.invoke(telegram_cli, ["set-webhook"])
    assert result.exit_code == 0, result.output
    assert "https://adref.example/webhooks/telegram" in result.output
    assert api.webhook == {"url": "https://adref.example/webhooks/telegram",
                           "secret_token": "a-long_webhook-secret-123",
                           "allowed_updates": ["message", "callback_query"]}

    shown = runner.invoke(telegram_cli, ["info"])
    assert shown.exit_code == 0, shown.output
    assert "https://adref.example/webhooks/telegram" in shown.output
    assert "message, callback_query" in shown.output
    assert "a-long_webhook-secret" not in shown.output

    assert runner.invoke(telegram_cli, ["delete-webhook"]).exit_code == 0
    assert api.webhook == {}
    assert "(none" in runner.invoke(telegram_cli, ["info"]).output


def test_set_webhook_takes_another_address(runner: CliRunner, api: FakeTelegramAPI) -> None:
    result = runner.invoke(telegram_cli, ["set-webhook", "--url", "https://elsewhere.example/t"])
    assert result.exit_code == 0, result.output
    assert api.webhook["url"] == "https://elsewhere.example/t"


@pytest.mark.parametrize(("unset", "says"), [
    ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN is not set"),
    ("TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_WEBHOOK_SECRET is not set"),
    ("PUBLIC_BASE_URL", "set PUBLIC_BASE_URL, or give the address with --url"),
])
def test_set_webhook_says_what_is_missing(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, api: FakeTelegramAPI, unset: str,
    says: str
) -> None:
    monkeypatch.delenv(unset)
    result = runner.invoke(telegram_cli, ["set-webhook"])
    assert result.exit_code == 1 and says in result.output
    assert api.calls_to("setWebhook") == []


def test_a_refused_token_is_a_plain_error(runner: CliRunner,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:WRONG")
    result = runner.invoke(telegram_cli, ["info"])
    assert result.exit_code == 1 and "refused TELEGRAM_BOT_TOKEN" in result.output
