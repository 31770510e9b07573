"""SMS: segments as networks bill them, inbound forms, sending through the twilio Client."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.channels import sms
from bot.channels.sms import (
    MAX_SEGMENTS,
    clean,
    fit,
    is_gsm,
    parse,
    render,
    segments,
)
from bot.channels.twilio import TwilioSender, retry_after
from bot.cli_channels import rhi_by_sms
from bot.cli_channels import sms as sms_cli
from bot.content import LANGS, Content
from bot.engine import Option, Reply
from bot.outbox import Outgoing, TransportError
from tests.fakes.twilio_api import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilioAPI
from tests.process import CONFIG_VARIABLES

SAM = "+447911123456"
ADREF_NUMBER = "+447700900000"
CLIENT_TIMEOUT = 0.3

# Segment counting


@pytest.mark.parametrize(("text", "encoding", "count"), [
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("ŵ" * 70, "UCS-2", 1),
    ("ŵ" * 71, "UCS-2", 2),
    ("ŵ" * 134, "UCS-2", 2),
    ("ŵ" * 135, "UCS-2", 3),
    ("€" * 80, "GSM-7", 1),  # the extension table costs two septets each
    ("€" * 81, "GSM-7", 2),
    ("👍" * 35, "UCS-2", 1),  # outside the BMP: two UTF-16 units each
    ("👍" * 36, "UCS-2", 2),
    ("", "GSM-7", 1),
])
def test_segments_are_counted_as_networks_bill_them(text: str, encoding: str,
                                                    count: int) -> None:
    counted = segments(text)
    assert (counted.encoding, counted.count) == (encoding, count)


def test_one_welsh_letter_makes_the_whole_message_ucs2() -> None:
    assert segments("Mae'r tân wedi diffodd").encoding == "UCS-2"
    assert segments("Mae'r tan wedi diffodd").encoding == "GSM-7"
    assert segments("a" * 159 + "â").count == 3  # 160 UCS-2 units


def test_english_is_kept_in_gsm7_by_straightening_quotes_and_spaces() -> None:
    sent = render(Reply("Don\u2019t worry\u00a0\u2013 it\u2019s \u201cyour\u201d choice\u2026",
                        (Option("yes", "Yes\u00a0please"),)), "en")
    assert sent == "Don't worry - it's \"your\" choice...\n\n1 Yes please"
    assert is_gsm(sent) and segments(sent).encoding == "GSM-7"


@pytest.mark.parametrize("lang", [*LANGS, None])
def test_welsh_letters_are_never_stripped(lang: str | None) -> None:
    welsh = "tân, tŷ, ŵyn, ôl, ûn, êl, îs, Ŵ Ŷ Â"
    assert render(Reply(welsh), lang) == welsh
    # Typed with combining accents, they are composed, not lost.
    assert clean("ta\u0302n", lang) == "tân"


def test_options_are_numbered_lines_after_the_text() -> None:
    reply = Reply("Pryd daethost ti'n ôl?", (Option("today", "Heddiw"), Option("yes", "Ddoe")))
    assert render(reply, "cy") == "Pryd daethost ti'n ôl?\n\n1 Heddiw\n2 Ddoe"


def test_fit_leaves_a_short_text_alone_and_cuts_a_long_one_at_a_line() -> None:
    lines = [f"Llinell {n}: mae'r tân yn gynnes." for n in range(60)]
    text = "\n".join(lines)
    assert fit("Shwmae") == "Shwmae"
    cut = fit(text)
    assert segments(cut).count <= MAX_SEGMENTS < segments(text).count
    assert text.startswith(cut) and text[len(cut)] == "\n"
    assert fit(text, limit=1) == "\n".join(lines[:2])  # 65 of UCS-2's 70


def test_fit_cuts_text_without_lines_or_sentences_too() -> None:
    cut = fit("ŵ" * 5000, limit=2)
    assert segments(cut).count <= 2 and set(cut) == {"ŵ"}


# Inbound: Twilio's webhook form


def test_an_inbound_text_is_read_from_twilios_form() -> None:
    received = parse({"MessageSid": "SM123", "From": "+44 7911 123456", "To": ADREF_NUMBER,
                      "Body": "Helo", "NumMedia": "0"})
    assert (received.channel, received.address, received.provider_id) == ("sms", SAM, "SM123")
    assert (received.text, received.payload, received.media) == ("Helo", None, False)


@pytest.mark.parametrize(("sender", "address"), [
    ("07911 123456", SAM), ("447911123456", SAM), (SAM, SAM),
    ("80800", "80800"),  # a short code stays a short code
    ("ADREF", "ADREF"),
    ("07700 900123", "07700 900123"),  # not a valid number: kept exactly as it came
])
def test_the_sender_is_one_address_however_the_number_is_written(sender: str,
                                                                 address: str) -> None:
    assert parse({"MessageSid": "SM1", "From": sender, "Body": "hi"}).address == address


def test_a_picture_message_is_flagged_and_nothing_it_carries_is_kept() -> None:
    received = parse({"MessageSid": "MM1", "From": SAM, "Body": "my address is SECRET",
                      "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/SECRET-picture"})
    assert received.media and received.text == ""
    assert "SECRET" not in repr(received)


@pytest.mark.parametrize("form", [{"From": SAM, "Body": "hi"}, {"MessageSid": "SM1"},
                                  {"MessageSid": " ", "From": SAM}, {}])
def test_a_form_without_sid_or_sender_is_refused(form: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        parse(form)


@pytest.mark.parametrize("sid", ["SM\x001", "SM 1", "SM1;--", "S" * 65, "ŚM1"])
def test_a_message_id_twilio_would_never_send_is_refused(sid: str) -> None:
    with pytest.raises(ValueError, match="MessageSid"):
        parse({"MessageSid": sid, "From": SAM, "Body": "hi"})


# Sending through the twilio library's Client to the fake Twilio API


@pytest.fixture
def api() -> Iterator[FakeTwilioAPI]:
    """A fake Twilio API that holds a "timeout" request for one second at most."""
    with FakeTwilioAPI(hang=1.0) as fake:
        yield fake


def outgoing(text: str = "Hoffet ti ofyn am gyfweliad? Dy ddewis di yw e.",
             options: tuple[Option, ...] = (Option("yes", "Ie"), Option("no", "Na")),
             language: str = "cy") -> Outgoing:
    """A message to Sam as the dispatcher leases it."""
    return Outgoing(id=1, channel="sms", recipient=SAM, text=text, options=options,
                    language=language)


def send(api: FakeTwilioAPI, message: Outgoing, *, sender: str = ADREF_NUMBER,
         token: str = TEST_AUTH_TOKEN,
         public_base_url: str | None = "https://adref.example") -> str:
    """Send one message with a fresh sender, and close it."""

    async def run() -> str:
        twilio = TwilioSender(TEST_ACCOUNT_SID, token, sender, api.base_url, public_base_url,
                              timeout=CLIENT_TIMEOUT)
        await twilio.start()
        try:
            return await twilio.send(message)
        finally:
            await twilio.stop()

    return asyncio.run(run())


def failed(api: FakeTwilioAPI, kind: str) -> TransportError:
    """The error a send raises when Twilio fails in this way."""
    api.fail_next(kind)
    with pytest.raises(TransportError) as caught:
        send(api, outgoing())
    return caught.value


def test_it_sends_the_rendered_reply_with_the_status_callback(api: FakeTwilioAPI) -> None:
    sid = send(api, outgoing())
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [call] = api.calls_to("Messages.create")
    assert call.auth == (TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
    assert call.params == {
        "To": SAM, "From": ADREF_NUMBER,
        "Body": "Hoffet ti ofyn am gyfweliad? Dy ddewis di yw e.\n\n1 Ie\n2 Na",
        "StatusCallback": "https://adref.example/webhooks/twilio/status",
    }


def test_a_messaging_service_chooses_the_number_itself(api: FakeTwilioAPI) -> None:
    send(api, outgoing(), sender="MG" + "0" * 32, public_base_url=None)
    [call] = api.calls_to("Messages.create")
    assert call.params["MessagingServiceSid"] == "MG" + "0" * 32
    assert "From" not in call.params and "StatusCallback" not in call.params


def test_english_goes_out_in_gsm7(api: FakeTwilioAPI) -> None:
    send(api, outgoing("It\u2019s your choice.", (Option("yes", "Yes"),), language="en"))
    [call] = api.calls_to("Messages.create")
    assert call.params["Body"] == "It's your choice.\n\n1 Yes"


def test_a_reply_over_the_ceiling_is_cut_before_it_costs_more(api: FakeTwilioAPI) -> None:
    send(api, outgoing("\n".join(["Mae'r tân yn gynnes heno."] * 80), options=()))
    [call] = api.calls_to("Messages.create")
    assert segments(call.params["Body"]).count == MAX_SEGMENTS


@pytest.mark.parametrize("kind", ["21610", "403"])
def test_an_opted_out_or_forbidden_recipient_is_a_permanent_failure(
    api: FakeTwilioAPI, kind: str
) -> None:
    error = failed(api, kind)
    assert error.permanent and kind in str(error)


def test_the_error_never_repeats_the_number(api: FakeTwilioAPI) -> None:
    assert "7911" not in str(failed(api, "21610"))


def test_too_many_requests_waits_as_long_as_twilio_asks(api: FakeTwilioAPI) -> None:
    error = failed(api, "429")
    assert not error.permanent and error.retry_after == 5.0


def test_a_server_error_is_retried(api: FakeTwilioAPI) -> None:
    error = failed(api, "500")
    assert not error.permanent and error.retry_after is None


def test_a_timeout_is_retried_and_does_not_wait_for_the_server(api: FakeTwilioAPI) -> None:
    started = time.monotonic()
    error = failed(api, "timeout")
    assert not error.permanent and "Timeout" in str(error)
    assert time.monotonic() - started < 1.0


def test_refused_credentials_are_retried_not_blamed_on_the_person(api: FakeTwilioAPI) -> None:
    with pytest.raises(TransportError) as caught:
        send(api, outgoing(), token="wrong-token")
    assert not caught.value.permanent and "401" in str(caught.value)


def test_an_unreachable_twilio_is_retried() -> None:
    with FakeTwilioAPI() as gone:
        address = gone.base_url
    with pytest.raises(TransportError) as caught:
        asyncio.run(TwilioSender(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, ADREF_NUMBER, address,
                                 timeout=CLIENT_TIMEOUT).send(outgoing()))
    assert not caught.value.permanent and "ConnectionError" in str(caught.value)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "7"}, 7.0), ({"retry-after": "0.5"}, 0.5), ({}, None),
    ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({"Retry-After": "soon"}, None),
])
def test_retry_after_is_read_as_seconds_or_a_date(headers: dict[str, str],
                                                  seconds: float | None) -> None:
    assert retry_after(headers) == seconds


# `adref sms budget`


@pytest.mark.parametrize("lang", LANGS)
def test_no_reply_in_a_whole_request_by_sms_is_cut(content: Content, lang: str) -> None:
    texted = rhi_by_sms(content, lang)
    assert texted[-1].node == "yp_menu" and "K7PM-4XQ2" in texted[-1].text
    assert [t.node for t in texted if t.cut] == []


def test_the_budget_prints_a_whole_request_in_welsh_and_in_english(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(sms_cli, ["budget"])
    assert result.exit_code == 0, result.output
    totals = {lang: (int(messages), int(count)) for lang, messages, count in re.findall(
        r"Full request by SMS in \w+ \((cy|en)\): (\d+) messages, (\d+) segments",
        result.output)}
    assert set(totals) == {"cy", "en"}
    # Welsh costs more: its circumflexes make most of it UCS-2.
    assert totals["cy"][1] > totals["en"][1] >= totals["en"][0]
    assert re.search(r"^rhi\.explain +cy +UCS-2 ", result.output, re.MULTILINE)
    assert re.search(r"^rhi\.explain +en +GSM-7 ", result.output, re.MULTILINE)
    assert f"MAX_SEGMENTS = {MAX_SEGMENTS}" in result.output


def test_the_welsh_list_of_people_to_talk_to_is_split_by_sms_not_cut(content: Content) -> None:
    from datetime import UTC, datetime

    from bot.engine import Context, Inbound, State, step

    state = State(node="yp_menu", lang="cy", role="young_person")
    ctx = Context(now=datetime(2026, 11, 24, 15, tzinfo=UTC), content=content, target_hours=72)
    [services] = step(state, Inbound("2", "sms"), ctx).replies
    parts = sms.split(services, "cy")
    assert len(parts) > 1
    assert all(sms.segments(sms.render(p, "cy")).count <= sms.MAX_SEGMENTS for p in parts)
    texts = "\n\n".join(p.text for p in parts)
    for number in ("999", "101", "080880 23456", "0800 1111", "116 123", "116 000"):
        assert number in texts
    assert texts == services.text  # nothing lost, nothing added
    assert parts[-1].options == services.options and not any(p.options for p in parts[:-1])
