"""Each benchmark's results as rows of the one table, with the issue's targets.

Every builder takes the benchmark's result, or None when it did not run, and gives the
same rows either way (the caller fills in why a row has no value): the table always has
every row, so a figure can't silently drop out of it.

The targets (issue #5):
- webhooks at 50 concurrent conversations on PostgreSQL: at least half the bare-Flask
  ceiling's throughput; p99 at most 50 ms;
- the end-to-end reply: p95 at most 250 ms;
- the monthly report over 1,000,000 requests: at most 1 s; the queue page: p95 at most
  150 ms.
Fifty people who never pause saturate two cores, and latency is then only queueing
(concurrency / throughput): the throughput target is judged on that load, the latency
targets on the same people at a human pace.
"""

from __future__ import annotations

from typing import Any

from bench.summary import Row, at_least, at_most, number, numbers

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
RATIO_TARGET = 0.5
WEBHOOK_P99_MS = 50.0
REPLY_P95_MS = 250.0
QUEUE_PAGE_P95_MS = 150.0
REPORT_MS = 1000.0


def _get(result: dict[str, Any] | None, *path: str) -> Any:
    for step in path:
        if result is None:
            return None
        result = result.get(step)
    return result


def webhook_rows(database: str, pace: str, result: dict[str, Any] | None,
                 conversations: int, think: float, gunicorn: str) -> list[Row]:
    """Throughput and latency of one load on one database, beside the ceiling's."""
    busy = pace == "busy"
    where = (f"{conversations} conversations back to back (no pause)" if busy
             else f"{conversations} conversations at a human pace (~{think:g} s pauses)")
    section = f"Webhooks on {NAMES[database]}: {where}; gunicorn {gunicorn}"
    key = f"webhooks.{database}.{pace}"
    adref, ceiling = _get(result, "targets", "adref"), _get(result, "targets", "ceiling")
    postgres = database == "postgresql"
    rows = [Row(section, f"{key}.throughput",
                "Adref throughput" if busy else "Adref throughput (the rate offered)",
                number(_get(adref, "msgs_per_s")), "msgs/s")]
    if busy:
        ratio = _get(result, "throughput_ratio")
        meets, miss = at_least(ratio, RATIO_TARGET) if postgres else (None, "")
        rows += [
            Row(section, f"{key}.ceiling", "bare-Flask ceiling throughput, same load",
                number(_get(ceiling, "msgs_per_s")), "msgs/s"),
            Row(section, f"{key}.ratio", "throughput Adref / ceiling", number(ratio, 3),
                "ratio", f">= {RATIO_TARGET}" if postgres else "", meets, miss)]
    latency = _get(adref, "latency_ms") or {}
    meets, miss = (at_most(latency.get("p99"), WEBHOOK_P99_MS)
                   if postgres and not busy else (None, ""))
    rows.append(Row(section, f"{key}.latency", "webhook latency",
                    numbers(latency.get("p50"), latency.get("p95"), latency.get("p99")),
                    "ms p50/p95/p99", f"p99 <= {WEBHOOK_P99_MS:g} ms" if postgres and not busy
                    else "", meets, miss))
    ceiling_latency = _get(ceiling, "latency_ms") or {}
    rows.append(Row(section, f"{key}.ceiling_latency", "ceiling webhook latency, same load",
                    numbers(ceiling_latency.get("p50"), ceiling_latency.get("p95"),
                            ceiling_latency.get("p99")), "ms p50/p95/p99"))
    reply = _get(result, "reply_latency_ms") or {}
    meets, miss = at_most(reply.get("p95"), REPLY_P95_MS) if postgres and not busy \
        else (None, "")
    rows.append(Row(section, f"{key}.reply", "end-to-end reply (webhook in -> fake API "
                    "gets the send)", numbers(reply.get("p50"), reply.get("p95")),
                    "ms p50/p95", f"p95 <= {REPLY_P95_MS:g} ms" if postgres and not busy
                    else "", meets, miss))
    cpu = _get(result, "cpu_ms_per_message") or {}
    rows.append(Row(section, f"{key}.cpu", "CPU per message: web workers / PostgreSQL / "
                    "bench",
                    numbers(cpu.get("web_workers"), cpu.get("postgres"), cpu.get("bench"),
                            digits=2), "ms"))
    check = _get(result, "check") or {}
    passed = check.get("passed")
    rows.append(Row(section, f"{key}.check", "every reply sent once, in order; every "
                    "duplicate recognised", f"{check.get('replies', '-')}/"
                    f"{check.get('expected_replies', '-')}", "replies",
                    "exactly once", passed, "; ".join(check.get("problems", [])[:2]),
                    check=True))
    return rows


def memory_rows(results: dict[str, dict[str, Any] | None], dispatcher: dict[str, Any] | None,
                dispatcher_database: str, messages: int) -> list[Row]:
    """Resident memory after the load: a web worker on each database, and one dispatcher."""
    section = "Memory and the dispatcher"
    rows = []
    for database, result in results.items():
        rss = _get(result, "worker_rss_mib")
        rows.append(Row(section, f"memory.web_worker.{database}",
                        f"RSS of a gunicorn web worker after the loads ({NAMES[database]})",
                        number(max(rss) if rss else None),
                        "MiB"))
    name = NAMES[dispatcher_database]
    rows += [
        Row(section, "memory.dispatcher", f"RSS of an `adref worker` after sending "
            f"{messages:,} messages ({name})", number(_get(dispatcher, "rss_mib")), "MiB"),
        Row(section, "dispatcher.rate", f"an `adref worker` sending a backlog of "
            f"{messages:,} ({name})", number(_get(dispatcher, "msgs_per_s")), "msgs/s"),
    ]
    return rows


def claim_rows(database: str, races: tuple[int, ...], requests: int,
               results: list[dict[str, Any]] | None) -> list[Row]:
    """Claims per second and latency with N practitioners racing; exactly once."""
    section = (f"Claim contention on {NAMES[database]}: N practitioners, each on its own "
               f"connection, racing for the head of a queue of {requests} requests")
    by_size = {r["practitioners"]: r for r in results or []}
    rows = []
    for n in races:
        result = by_size.get(n)
        check = _get(result, "check") or {}
        latency = _get(result, "latency_ms") or {}
        rows += [
            Row(section, f"claims.{database}.{n}", f"{n} practitioners: requests claimed",
                number(_get(result, "claims_per_s")), "claims/s",
                "each claimed exactly once", check.get("passed"),
                "; ".join(check.get("problems", [])[:2]), check=True),
            Row(section, f"claims.{database}.{n}.latency", f"{n} practitioners: claim + commit",
                numbers(latency.get("p50"), latency.get("p95")),
                f"ms p50/p95, {_get(result, 'attempts') or '-'} attempts"),
        ]
    return rows


REPORT_FIGURES = (  # result key, figure, who, target
    ("queue_page", "queue, first page's SQL (bot.queue.page)", "manager", None),
    ("queue_page_http_manager", "queue page, whole (GET /dashboard)", "manager",
     QUEUE_PAGE_P95_MS),
    ("queue_page_http_admin", "queue page, whole (GET /dashboard)", "admin",
     QUEUE_PAGE_P95_MS),
    ("report_manager", "monthly report's SQL (bot.reports.monthly)", "manager", REPORT_MS),
    ("report_admin", "monthly report's SQL (bot.reports.monthly)", "admin", REPORT_MS),
    ("report_page_http_manager", "monthly report page, whole (GET /dashboard/reports)",
     "manager", REPORT_MS),
    ("report_page_http_admin", "monthly report page, whole (GET /dashboard/reports)",
     "admin", REPORT_MS),
)


def report_rows(database: str, label: str, requests: int, runs: int,
                result: dict[str, Any] | None) -> list[Row]:
    """The queue and the monthly report at one size, as SQL and as whole pages."""
    seeded = _get(result, "seed_seconds")
    section = (f"Queue and monthly report on {NAMES[database]}, {requests:,} requests"
               f"{f' (seeded in {seeded:.0f} s)' if seeded is not None else ''}, as Bob "
               f"(a Cardiff manager) and Dee (an admin); {runs} runs each")
    rows = []
    for name, figure, who, target in REPORT_FIGURES:
        times = _get(result, name) or {}
        p95 = times.get("p95_ms")
        meets, miss = at_most(p95, target) if target else (None, "")
        rows.append(Row(section, f"reports.{database}.{label}.{name}",
                        f"{figure}, {who}",
                        numbers(times.get("p50_ms"), p95), "ms p50/p95",
                        f"p95 <= {target:,.0f} ms" if target else "", meets, miss))
    return rows


def sms_rows(results: list[dict[str, Any]] | None, journeys: list[tuple[str, str, str]]
             ) -> list[Row]:
    """Each journey's SMS cost in each language; no text may be cut short."""
    section = "SMS: segments each journey costs, first text to last"
    found = {(r["journey"], r["lang"]): r for r in results or []}
    rows = []
    for key, lang, name in journeys:
        result = found.get((key, lang))
        language = "Welsh" if lang == "cy" else "English"
        cut = _get(result, "cut")
        rows.append(Row(section, f"sms.{key}.{lang}", f"{name} ({language})",
                        str(_get(result, "segments") or "-"),
                        f"segments in {_get(result, 'texts') or '-'} texts",
                        "no text cut short", None if cut is None else cut == 0,
                        f"{cut} cut" if cut else "", check=True))
    return rows
