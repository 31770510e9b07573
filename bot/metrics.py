"""The counters Adref keeps: messages received and sends attempted, by channel and result.

Callers count with one line, `metrics.inbound("sms", "accepted")`. The counters are
registered nowhere: GET /metrics (webhooks/metrics.py) gathers them into a registry of
its own per scrape, from memory in one process, or under gunicorn from the files every
worker writes to PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, which
that variable switches on when prometheus_client is first imported).

Labels are channels and results only, never anything about a person.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter

InboundResult = Literal[
    "accepted",  # recorded and run through the engine
    "duplicate",  # a redelivery of an event already recorded: no second effect
    "forbidden",  # a bad signature, secret token or CSRF token
    "malformed",  # not a message the channel's parser understands
    "too_large",  # a body over the app's limit
    "ignored",  # a valid update of a kind Adref doesn't handle
    "error",  # handling failed: the fixed safe reply was given instead (or a 500 elsewhere)
]
OutboundResult = Literal[
    "sent",  # the provider accepted it
    "retry",  # a transient failure: tried again after a backoff
    "failed",  # given up: a permanent error, or too many attempts
    "unreachable",  # given up, and the contact marked (a blocked bot, an opted-out number)
]
INBOUND_RESULTS: tuple[InboundResult, ...] = (
    "accepted", "duplicate", "forbidden", "malformed", "too_large", "ignored", "error")
OUTBOUND_RESULTS: tuple[OutboundResult, ...] = ("sent", "retry", "failed", "unreachable")
INBOUND_CHANNELS = ("telegram", "sms", "web")
OUTBOUND_CHANNELS = ("telegram", "sms")

INBOUND = Counter("adref_inbound", "Messages received by webhook or web chat, by result.",
                  ["channel", "result"], registry=None)
OUTBOUND = Counter("adref_outbound", "Attempts to send an outbox message, by result.",
                   ["channel", "result"], registry=None)

# Every series exists from the start at zero, so that the first forged request shows up
# as an increase rather than as a series appearing out of nothing.
for _channel in INBOUND_CHANNELS:
    for _inbound in INBOUND_RESULTS:
        INBOUND.labels(_channel, _inbound)
for _channel in OUTBOUND_CHANNELS:
    for _outbound in OUTBOUND_RESULTS:
        OUTBOUND.labels(_channel, _outbound)


def inbound(channel: str, result: InboundResult) -> None:
    """Count one message received on channel."""
    INBOUND.labels(channel, result).inc()


def outbound(channel: str, result: OutboundResult) -> None:
    """Count one attempt to send a message on channel."""
    OUTBOUND.labels(channel, result).inc()
