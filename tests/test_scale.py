"""A thousand conversations at once through 4 gunicorn workers and 2 `adref worker`s.

1. Start the fake Bot API and Twilio API, gunicorn with no dispatcher of its own
   (bench.server), and two `adref worker` processes, all on this test's one database.
2. Plan a thousand conversations (bench.conversations): half are Welsh by SMS, half
   English by Telegram, and a seeded share of the messages is delivered twice at the same
   moment, as a provider's retry can be. A seeded tenth go all the way to a request; the
   others stop after asking for an interview, or after hello.
3. Hold them, a few dozen at a time, until each has said all it has to say; wait until
   the fakes have every reply the dialogue expects and nothing is left to send.
4. Count, exactly: every message written reached the fakes once, in order per person,
   as many as the dialogue says; one request per person who asked; nothing unsent.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bench import tally
from bench.conversations import Conversation, drive, plan
from bench.server import Gunicorn
from bench.webhooks import ADREF_APP, environment
from bot.channels import sms
from bot.config import decode_data_key
from bot.content import Content
from bot.crypto import Vault
from bot.engine import Option, Reply
from bot.models import InboundEvent, OutboxMessage, RhiRequest
from tests.factories import TG_TOKEN, TW_SID, TW_TOKEN
from tests.fakes import Call
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.process import start_worker, stop_worker

CONVERSATIONS = 1000
DUPLICATE_SHARE = 0.1
SEED = 20261121
# How far into its dialogue a conversation goes, and the share that go that far: the
# whole request; up to "would you like to ask for an interview?"; hello and a language.
ASKING_SHARE, ASKING_ABOUT_SHARE = 0.1, 0.3
ASKING_ABOUT_LENGTH, HELLO_LENGTH = 4, 2
# The same on SQLite: its one write lock makes the workers queue, which is slower
# (bench/README.md) but still well inside the time this test may take.
GUNICORN_WORKERS, THREADS, DISPATCHERS = 4, 4, 2
# Gunicorn serves GUNICORN_WORKERS x THREADS webhooks at a time. A thousand people
# all waiting in its queue would each wait longer than a provider waits for an answer
# (and a real provider spreads its retries out); a few per thread keeps every one busy.
AT_ONCE = 64
# The most the load may take, in seconds; the other waits have bounds of their own.
LOAD_SECONDS = 150.0


def cast(conversations: list[Conversation], seed: int) -> tuple[list[Conversation], set[str]]:
    """Cut each conversation to its seeded length; also return the addresses that ask."""
    rng, out, asking = random.Random(seed), [], set()
    for conversation in conversations:
        roll = rng.random()
        if roll < ASKING_SHARE:
            asking.add(conversation.address)
            out.append(conversation)
        else:
            length = ASKING_ABOUT_LENGTH if roll < ASKING_SHARE + ASKING_ABOUT_SHARE \
                else HELLO_LENGTH
            out.append(replace(conversation, messages=conversation.messages[:length]))
    return out, asking


async def hold(base_url: str, conversations: list[Conversation]) -> list[str]:
    """Hold every conversation, AT_ONCE at a time; return the webhooks that failed."""
    turns = asyncio.Semaphore(AT_ONCE)

    async def converse(conversation: Conversation) -> list[str]:
        async with turns:
            load = await drive(base_url, [conversation], LOAD_SECONDS)
        return load.failures

    try:
        async with asyncio.timeout(LOAD_SECONDS):
            failed = await asyncio.gather(*(converse(c) for c in conversations))
    except TimeoutError:
        return [f"the conversations were not over within {LOAD_SECONDS:.0f} s"]
    return [failure for failures in failed for failure in failures]


def as_sent(engine: Engine, vault: Vault) -> dict[str, list[str]]:
    """Every outbox row as its channel puts it to the provider, by recipient, oldest first."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    sent: dict[str, list[str]] = {}
    for row in rows:
        text = vault.open(row.body_enc)
        if row.channel == "sms":  # the options become numbered lines (TwilioSender.send)
            options = tuple(Option(key, label) for key, label in json.loads(row.options))
            text = sms.fit(sms.render(Reply(text, options), row.language))
        sent.setdefault(vault.open(row.recipient_enc), []).append(text)
    return sent


def texts(calls: list[Call]) -> list[str]:
    return [str(c.params.get("text") or c.params.get("Body") or "") for c in calls]


def test_a_thousand_conversations_over_both_channels_are_answered_exactly_once(
    tmp_path: Path, database_url: str, db_engine: Engine, content: Content
) -> None:
    conversations, asking = cast(plan(CONVERSATIONS, DUPLICATE_SHARE, content, SEED), SEED)
    assert asking and any(m.twice for c in conversations for m in c.messages)
    with ExitStack() as stack:  # stops everything, in reverse order, however it ends
        telegram = stack.enter_context(FakeTelegramAPI(TG_TOKEN))
        twilio = stack.enter_context(FakeTwilioAPI(TW_SID, TW_TOKEN))
        env = environment(database_url, telegram.base_url, twilio.base_url)
        marks = tally.mark_before(db_engine, telegram, twilio)
        server = stack.enter_context(Gunicorn(
            ADREF_APP, {**env, "ADREF_INPROCESS_DISPATCHER": "0"}, workers=GUNICORN_WORKERS,
            threads=THREADS, log=tmp_path / "gunicorn.log"))
        workers = []
        for n in range(DISPATCHERS):
            log = stack.enter_context((tmp_path / f"worker{n}.log").open("w"))
            workers.append(start_worker(tmp_path, env, poll=1.0, lease=60.0, output=log))
            stack.callback(stop_worker, workers[-1])
        failures = asyncio.run(hold(server.url, conversations))
        drained = tally.drain(db_engine, marks, telegram, twilio, conversations,
                              time.monotonic() + tally.DRAIN_SECONDS)
    logs = "\n".join(f"{p.name}: {p.read_text()[-2000:]}" for p in tmp_path.glob("*.log"))
    assert failures == [], f"{len(failures)} webhooks failed, e.g. {failures[:3]}\n{logs}"
    assert drained, f"not everything was sent within {tally.DRAIN_SECONDS:.0f} s\n{logs}"
    assert all(w.returncode == 0 for w in workers), logs

    # Every message written reached its person exactly once, in the order written...
    replies = tally.collect_replies(telegram, twilio, marks)
    written = as_sent(db_engine, Vault(decode_data_key(env["ADREF_DATA_KEY"])))
    assert replies.keys() == written.keys() == {c.address for c in conversations}
    for address, calls in replies.items():
        assert texts(calls) == written[address], address
    # ...and what was written is what the dialogue says, no more and no less.
    for conversation in conversations:
        said, position = texts(replies[conversation.address]), 0
        for message in conversation.messages:
            group = "\n".join(said[position:position + message.replies])
            assert message.expect in group, (conversation.address, message.text)
            position += message.replies
        assert position == len(said), conversation.address

    with Session(db_engine) as session:
        references = set(session.exec(select(RhiRequest.reference)).all())
        events = session.exec(select(func.count()).select_from(InboundEvent)).one()
        statuses = Counter(session.exec(select(OutboxMessage.status)).all())
    # One request per person who asked, and each was told its own reference.
    told = [r for address in asking for r in references if r in texts(replies[address])[-1]]
    assert len(references) == len(asking) == len(told) and set(told) == references
    # Every redelivery was recognised; nothing is left unsent.
    assert events == sum(len(c.messages) for c in conversations)
    assert statuses == {"sent": sum(len(s) for s in written.values())}
