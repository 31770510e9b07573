"""GET /metrics: Prometheus figures for whoever holds METRICS_TOKEN, and no one else.

1. Without METRICS_TOKEN the page does not exist (404); a missing or wrong bearer token
   is 401, compared in constant time, with nothing in the body.
2. Each scrape builds a registry of its own: the counters of bot.metrics, summed over
   every gunicorn worker in multiprocess mode, and gauges counted in the database at
   that moment, so that any worker on any machine gives the same answer.
3. The gauges are counts by channel or in all: nothing about a person or a case.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from flask import Blueprint, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from bot import metrics, queue
from bot.casework import Actor
from bot.models import OutboxMessage
from bot.outbox import UNSENT
from webhooks import runtime_of

blueprint = Blueprint("metrics", __name__)
# The queue counted as an admin sees it: every area, and the ones not yet known.
EVERYONE = Actor(id=0, role="admin", areas=frozenset())


class DatabaseCollector:
    """Outbox and request-queue gauges, counted in the database at scrape time."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[Metric]:
        """Count now; a database that does not answer fails the scrape, as it should."""
        now = self.clock()
        depth = GaugeMetricFamily(
            "adref_outbox_pending_messages",
            "Outbox messages waiting to be sent or being sent. Web chat ones wait for the"
            " young person to open the chat.", labels=["channel"])
        age = GaugeMetricFamily(
            "adref_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox message waiting to be sent (0 when none).",
            labels=["channel"])
        dead = GaugeMetricFamily(
            "adref_outbox_dead_messages",
            "Outbox messages given up on (a permanent error, too many attempts, opted out).",
            labels=["channel"])
        with Session(self.engine) as session:
            waiting = {channel: (int(count), oldest) for channel, count, oldest in session.exec(
                select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at))
                .where(col(OutboxMessage.status).in_(UNSENT))
                .group_by(col(OutboxMessage.channel)))}
            given_up = {channel: int(count) for channel, count in session.exec(
                select(OutboxMessage.channel, func.count())
                .where(col(OutboxMessage.status) == "dead")
                .group_by(col(OutboxMessage.channel)))}
            # The dashboard's own filters, so "overdue" means here what it means there.
            queued = queue.page(session, EVERYONE, queue.Filters(status="queued"), now,
                                limit=0).total
            overdue = queue.page(session, EVERYONE, queue.Filters(overdue=True), now,
                                 limit=0).total
        for channel in sorted({*metrics.OUTBOUND_CHANNELS, "web", *waiting, *given_up}):
            count, oldest = waiting.get(channel, (0, None))
            depth.add_metric([channel], count)
            age.add_metric([channel], max((now - oldest).total_seconds(), 0.0) if oldest else 0)
            dead.add_metric([channel], given_up.get(channel, 0))
        yield from (depth, age, dead)
        yield GaugeMetricFamily("adref_rhi_queued_requests",
                                "Interview requests waiting for a practitioner to claim them.",
                                value=queued)
        yield GaugeMetricFamily("adref_rhi_overdue_requests",
                                "Open interview requests (queued or claimed) past their"
                                " deadline, as the dashboard's overdue filter counts them.",
                                value=overdue)


def registry(engine: Engine, clock: Callable[[], datetime], multiproc_dir: Path | None
             ) -> CollectorRegistry:
    """Everything one scrape reports: the counters, and the database's gauges."""
    scrape = CollectorRegistry()
    if multiproc_dir is not None:
        MultiProcessCollector(scrape, path=str(multiproc_dir))  # type: ignore[no-untyped-call]
    else:
        scrape.register(metrics.INBOUND)
        scrape.register(metrics.OUTBOUND)
    scrape.register(DatabaseCollector(engine, clock))
    return scrape


@blueprint.get("/metrics")
def scrape() -> Response:
    """The Prometheus text format, for a bearer of METRICS_TOKEN."""
    runtime = runtime_of(current_app)
    token = runtime.settings.metrics_token
    if token is None:
        abort(404)  # off: the same answer as for any page that doesn't exist
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(status=401, headers={"WWW-Authenticate": "Bearer"})
    found = registry(runtime.engine, runtime.inbox.clock, runtime.settings.metrics_multiproc_dir)
    return Response(generate_latest(found), content_type=CONTENT_TYPE_LATEST)
