"""The scripted load: many people at once, each asking for a return home interview.

1. `plan` gives every conversation its own phone number or chat id and builds each
   webhook request up front, signed as the provider signs it, so signing costs nothing
   while the clock runs. A seeded share of the messages is marked to be delivered twice.
2. Each message carries how many replies the dialogue expects for it: the pure engine is
   run over the same parsed message the webhook will see, so the count is exact.
3. `drive` holds every conversation at once over kept-alive connections, each sending its
   next message as soon as the webhook has answered the last (not when the reply comes:
   the load is the same for Adref and for the ceiling), or after a pause to think, and
   times every request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bench.http import HttpError, Pool
from bot.channels import sms, telegram
from bot.clock import utcnow
from bot.content import Content
from bot.engine import Context, Inbound, State, step
from tests.conversations import ENGLISH_BY_TELEGRAM, WELSH_BY_SMS
from tests.factories import BASE, TG_SECRET, TW_SID, TW_TOKEN, telegram_update

# The number Adref texts from, and the one people text to.
SMS_NUMBER = "+447700900000"
# Longer than any webhook should take even queued behind SQLite writers; a request that
# takes longer has failed, and the run goes on without it.
REQUEST_TIMEOUT_SECONDS = 30.0
DIALOGUES = {"sms": WELSH_BY_SMS, "telegram": ENGLISH_BY_TELEGRAM}


class PlanError(Exception):
    """The scripted dialogue no longer matches what the engine says."""


@dataclass(frozen=True)
class Message:
    """One webhook request, ready to send, and what should come of it."""

    path: str
    body: bytes
    headers: dict[str, str]
    text: str
    expect: str  # a fragment the replies to this message must contain
    replies: int  # how many replies the dialogue expects
    twice: bool  # delivered twice at the same moment, as a provider's retry can be


@dataclass(frozen=True)
class Conversation:
    """One person's whole dialogue on one channel."""

    channel: str  # "sms" or "telegram"
    address: str  # where replies go: the phone number, or the chat id
    messages: tuple[Message, ...]


@dataclass
class Load:
    """What happened while the conversations were held."""

    latencies: list[float] = field(default_factory=list)  # seconds, every request answered
    # (address, message index) -> time.monotonic() when the message was first sent.
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0  # this process's, fakes included, while the load ran

    @property
    def requests(self) -> int:
        """Requests sent, duplicates included."""
        return len(self.latencies) + len(self.failures)

    @property
    def duration(self) -> float:
        """Seconds from the first request sent to the last one answered."""
        return self.finished - self.started


def plan(count: int, duplicate_share: float, content: Content, seed: int = 0
         ) -> list[Conversation]:
    """`count` conversations, half by SMS in Welsh and half by Telegram in English."""
    sms_count = (count + 1) // 2
    channels = ["sms"] * sms_count + ["telegram"] * (count - sms_count)
    total = sum(len(DIALOGUES[c]) for c in channels)
    twice = set(random.Random(seed).sample(range(total), round(duplicate_share * total)))
    numbered = itertools.count()
    # Fresh addresses and provider ids on every run, so a database kept between runs
    # (PostgreSQL) never takes this run's people or messages for the last run's.
    phone_base = secrets.randbelow(90_000)
    chat_base = 10**9 + secrets.randbelow(10**9)
    update_ids = itertools.count(1 + secrets.randbelow(2**30))
    expected = {c: _expected_replies(content, c) for c in set(channels)}
    conversations = []
    for n, channel in enumerate(channels):
        if channel == "sms":
            address = f"+4477009{(phone_base + n) % 100_000:05d}"
            requests = [_sms(address, text) for text, _ in WELSH_BY_SMS]
        else:
            address = str(chat_base + n)
            requests = [_telegram(next(update_ids), int(address), text)
                        for text, _ in ENGLISH_BY_TELEGRAM]
        messages = tuple(
            Message(path, body, headers, text, fragment, replies, next(numbered) in twice)
            for (path, body, headers), (text, fragment), replies
            in zip(requests, DIALOGUES[channel], expected[channel], strict=True))
        conversations.append(Conversation(channel, address, messages))
    return conversations


def _sms(sender: str, text: str) -> tuple[str, bytes, dict[str, str]]:
    path = "/webhooks/twilio/sms"
    form = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": TW_SID, "From": sender,
            "To": SMS_NUMBER, "Body": text, "NumMedia": "0"}
    signature = RequestValidator(TW_TOKEN).compute_signature(BASE + path, form)
    return path, urlencode(form).encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}


def _telegram(update_id: int, chat_id: int, text: str) -> tuple[str, bytes, dict[str, str]]:
    update = telegram_update(update_id, text, chat_id)
    return "/webhooks/telegram", json.dumps(update).encode(), {
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


def _expected_replies(content: Content, channel: str) -> list[int]:
    """How many replies each message of the channel's dialogue gets, from the pure engine."""
    if channel == "sms":
        received = [sms.parse({"MessageSid": f"SM{n}", "From": "+447700900001", "Body": text})
                    for n, (text, _) in enumerate(WELSH_BY_SMS)]
    else:
        parsed = [telegram.parse(telegram_update(n + 1, text, 4242))
                  for n, (text, _) in enumerate(ENGLISH_BY_TELEGRAM)]
        received = [p.received for p in parsed if p is not None]
    state, counts = State(), []
    for message, (text, fragment) in zip(received, DIALOGUES[channel], strict=True):
        # As the inbox hands a received message to the engine.
        inbound = Inbound(text=message.text, channel=message.channel, payload=message.payload,
                          lang_hint=message.lang_hint, media=message.media)
        result = step(state, inbound, Context(now=utcnow(), content=content, target_hours=72,
                                              new_reference="BENCH"))
        said = "\n".join(r.text for r in result.replies)
        if fragment not in said:
            raise PlanError(f"{channel}: after {text!r} the engine no longer says {fragment!r}")
        counts.append(len(result.replies))
        state = result.state
    return counts


async def drive(base_url: str, conversations: Sequence[Conversation], timeout: float,
                think: float = 0.0, seed: int = 0) -> Load:
    """Hold every conversation at once against base_url; give up after `timeout` seconds.

    With `think`, each person pauses about that many seconds (0.5 to 1.5 times, seeded)
    before each message, as people do, and starts within the first `think` seconds rather
    than all at once; without, the load is as heavy as the server can take.
    """
    load = Load()
    rng = random.Random(seed)
    pauses = [[think * (rng.uniform(0.5, 1.5) if n else rng.random())
               for n in range(len(c.messages))] for c in conversations]
    cpu = time.process_time()
    load.started = time.monotonic()
    try:
        # A task group cancels every conversation cleanly on a timeout or Ctrl-C.
        async with asyncio.timeout(timeout), asyncio.TaskGroup() as group:
            for conversation, its_pauses in zip(conversations, pauses, strict=True):
                group.create_task(_converse(base_url, conversation, its_pauses, load))
    finally:
        load.finished = time.monotonic()
        load.cpu_seconds = time.process_time() - cpu
    return load


async def _converse(base_url: str, conversation: Conversation, pauses: list[float],
                    load: Load) -> None:
    # Connections of its own per conversation, as each person is a phone of their own:
    # one more opens only while a duplicate is in flight. bench.http, not httpx: httpx
    # costs milliseconds of CPU a request, and the load generator, not the server, became
    # what was measured. It speaks to the loopback address it is given, never a proxy.
    pool = Pool(base_url)
    try:
        for index, message in enumerate(conversation.messages):
            if pauses[index]:
                await asyncio.sleep(pauses[index])
            load.sent_at[(conversation.address, index)] = time.monotonic()
            async with asyncio.TaskGroup() as copies:
                for _ in range(2 if message.twice else 1):
                    copies.create_task(_post(pool, message, load))
    finally:
        pool.close()


async def _post(pool: Pool, message: Message, load: Load) -> None:
    start = time.monotonic()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
            answer = await pool.post(message.path, message.body, message.headers)
    except (HttpError, TimeoutError) as error:
        load.failures.append(f"{message.path}: {type(error).__name__}")
        return
    if answer.status != 200:
        load.failures.append(f"{message.path}: HTTP {answer.status}")
        return
    load.latencies.append(time.monotonic() - start)
