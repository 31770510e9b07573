"""The fake provider APIs themselves: loopback only, keep-alive, scripted failures, clean stops."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.fakes import FakeAPI
from tests.fakes.telegram_api import TEST_TOKEN, FakeTelegramAPI
from tests.fakes.twilio_api import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilioAPI

MESSAGES = f"/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json"
AUTH = "Basic " + base64.b64encode(f"{TEST_ACCOUNT_SID}:{TEST_AUTH_TOKEN}".encode()).decode()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@contextmanager
def connection(fake: FakeAPI, timeout: float = 5.0) -> Iterator[http.client.HTTPConnection]:
    """One keep-alive connection to the fake, closed afterwards."""
    parts = urlsplit(fake.base_url)
    assert parts.hostname is not None
    with closing(http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)) as c:
        yield c


def post(conn: http.client.HTTPConnection, path: str, body: str,
         headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """POST and read the whole answer, so the connection can carry the next request."""
    conn.request("POST", path, body=body.encode(), headers=headers)
    response = conn.getresponse()
    raw = response.read()
    return response.status, dict(response.getheaders()), json.loads(raw) if raw else None


def send_message(conn: http.client.HTTPConnection, token: str = TEST_TOKEN) -> int:
    """sendMessage as python-telegram-bot posts it; returns the status."""
    return post(conn, f"/bot{token}/sendMessage", urlencode({"chat_id": "1", "text": "Helo"}),
                FORM)[0]


@pytest.mark.parametrize("fake", [FakeTelegramAPI, FakeTwilioAPI])
def test_a_fake_listens_on_loopback_only(fake: type[FakeAPI]) -> None:
    with fake() as running:
        assert running.base_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        running.base_url  # noqa: B018 - reading it is the test


def test_an_unknown_failure_is_refused() -> None:
    with pytest.raises(ValueError):
        FakeTelegramAPI().fail_next("418")


def test_scripted_failures_are_played_in_order_on_one_kept_alive_connection() -> None:
    with FakeTelegramAPI() as api, connection(api) as conn:
        api.fail_next("500", times=2)
        api.fail_next("429")
        api.fail_next("403")
        statuses = [send_message(conn) for _ in range(5)]
        assert statuses == [500, 500, 429, 403, 200]
        status, _, body = post(conn, f"/bot{TEST_TOKEN}/getMe", "", FORM)
        assert status == 200 and body["result"]["is_bot"]
    assert [c.method for c in api.calls] == ["sendMessage"] * 5 + ["getMe"]


def test_flood_control_says_how_long_to_wait() -> None:
    with FakeTelegramAPI(retry_after=9) as api, connection(api) as conn:
        api.fail_next("429")
        conn.request("POST", f"/bot{TEST_TOKEN}/sendMessage", body=b"chat_id=1&text=x",
                     headers=FORM)
        body = json.loads(conn.getresponse().read())
    assert body["parameters"] == {"retry_after": 9} and body["error_code"] == 429


def test_form_and_json_bodies_are_read_alike() -> None:
    markup = {"inline_keyboard": [[{"text": "Ie", "callback_data": "yes"}]]}
    with FakeTelegramAPI() as api, connection(api) as conn:
        post(conn, f"/bot{TEST_TOKEN}/sendMessage",
             urlencode({"chat_id": "1", "text": "Helo", "reply_markup": json.dumps(markup)}),
             FORM)
        post(conn, f"/bot{TEST_TOKEN}/sendMessage",
             json.dumps({"chat_id": "1", "text": "Helo", "reply_markup": markup}),
             {"Content-Type": "application/json"})
    first, second = api.calls_to("sendMessage")
    assert first.params == second.params == {"chat_id": "1", "text": "Helo",
                                             "reply_markup": markup}


def test_each_sent_message_gets_the_next_id() -> None:
    with FakeTelegramAPI() as api, connection(api) as conn:
        ids = [post(conn, f"/bot{TEST_TOKEN}/sendMessage", "chat_id=5&text=hi", FORM)[2]
               ["result"]["message_id"] for _ in range(3)]
    assert ids == [1, 2, 3]


def test_a_wrong_token_is_unauthorized() -> None:
    with FakeTelegramAPI() as api, connection(api) as conn:
        assert send_message(conn, token="1:WRONG") == 401


def test_twilio_wants_the_accounts_basic_auth() -> None:
    body = urlencode({"To": "+447911123456", "From": "+447700900000", "Body": "Helo"})
    wrong = "Basic " + base64.b64encode(f"{TEST_ACCOUNT_SID}:nope".encode()).decode()
    with FakeTwilioAPI() as api, connection(api) as conn:
        assert post(conn, MESSAGES, body, FORM)[0] == 401
        assert post(conn, MESSAGES, body, {**FORM, "Authorization": wrong})[0] == 401
        status, _, created = post(conn, MESSAGES, body, {**FORM, "Authorization": AUTH})
    assert status == 201 and created["status"] == "queued" and created["num_segments"] == "1"
    assert created["sid"].startswith("SM") and len(created["sid"]) == 34
    assert api.calls[-1].auth == (TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("500", 500, 20500), ("429", 429, 20429), ("21610", 400, 21610), ("403", 403, 20403),
])
def test_twilio_failures_answer_as_twilio_does(kind: str, status: int, code: int) -> None:
    body = urlencode({"To": "+447911123456", "From": "+447700900000", "Body": "Helo"})
    with FakeTwilioAPI(retry_after=4) as api, connection(api) as conn:
        api.fail_next(kind)
        got, headers, error = post(conn, MESSAGES, body, {**FORM, "Authorization": AUTH})
        assert (got, error["code"]) == (status, code)
        assert headers.get("Retry-After") == ("4" if kind == "429" else None)
        assert post(conn, MESSAGES, body, {**FORM, "Authorization": AUTH})[0] == 201


@pytest.mark.parametrize("fake", [FakeTelegramAPI, FakeTwilioAPI])
def test_a_hanging_request_is_let_go_when_the_fake_stops(fake: type[FakeAPI]) -> None:
    api = fake(hang=30.0)
    path = MESSAGES if fake is FakeTwilioAPI else f"/bot{TEST_TOKEN}/sendMessage"
    with api:
        api.fail_next("timeout")
        outcome: list[BaseException] = []

        def call() -> None:
            with connection(api, timeout=10) as conn:
                try:
                    post(conn, path, "To=1&From=2&Body=3&chat_id=1&text=x",
                         {**FORM, "Authorization": AUTH})
                except (http.client.HTTPException, OSError) as error:
                    outcome.append(error)

        caller = threading.Thread(target=call)
        caller.start()
        api.wait_for(1)
        started = time.monotonic()
    assert time.monotonic() - started < 2.0
    caller.join(5)
    assert not caller.is_alive() and len(outcome) == 1  # dropped, never answered


def test_stopping_joins_every_thread_even_with_a_connection_left_open() -> None:
    before = threading.active_count()
    with FakeTelegramAPI() as api, connection(api) as conn:
        assert send_message(conn) == 200
        started = time.monotonic()
        api.stop()  # the client still holds its kept-alive connection
        assert time.monotonic() - started < 2.0
    assert threading.active_count() == before


def test_wait_for_gives_up_after_its_timeout() -> None:
    with FakeTelegramAPI() as api:
        with pytest.raises(TimeoutError):
            api.wait_for(1, timeout=0.05)
        with connection(api) as conn:
            send_message(conn)
        assert len(api.wait_for(1, method="sendMessage")) == 1
