"""The figures of a run, and the table people read."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bench.conversations import Load


def figures(load: Load) -> dict[str, Any]:
    """Throughput and webhook latency of one target's load."""
    return {
        "messages": load.requests,
        "duration_s": round(load.duration, 2),
        "msgs_per_s": round(load.requests / load.duration, 1) if load.duration else 0.0,
        "latency_ms": {f"p{p}": ms(percentile(load.latencies, p)) for p in (50, 95, 99)},
        "failures": len(load.failures),
        "bench_cpu_s": round(load.cpu_seconds, 2),
    }


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> float | None:
    """Seconds as milliseconds to one decimal; None for NaN (nothing measured)."""
    return None if math.isnan(seconds) else round(seconds * 1000, 1)


def table(result: dict[str, Any]) -> str:
    """The result as the table people read."""
    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    targets = result["targets"]
    pace = f"{result['think_s']:g} s to think" if result["think_s"] else "no pause"
    lines = [
        f"Webhooks, {result['conversations']} conversations (SMS in Welsh, Telegram in English), "
        f"{pace}, {result['duplicate_share']:.0%} delivered twice; gunicorn gthread "
        f"{result['workers']} workers x {result['threads']} threads; {result['cpus']} CPUs",
        f"{'target':<16}{'messages':>9}{'duration':>10}{'msgs/s':>9}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}",
    ]
    for name, label in (("adref", f"adref ({result['database']})"), ("ceiling", "ceiling")):
        t = targets[name]
        lines.append(
            f"{label:<16}{t['messages']:>9}{t['duration_s']:>9.1f}s{t['msgs_per_s']:>9.1f}"
            f"{number(t['latency_ms']['p50']):>9}{number(t['latency_ms']['p95']):>9}"
            f"{number(t['latency_ms']['p99']):>9}")
    lines.append(f"bench process CPU (load generator and fakes): adref "
                 f"{targets['adref']['bench_cpu_s']:.1f} s, ceiling "
                 f"{targets['ceiling']['bench_cpu_s']:.1f} s")
    ratio = result["throughput_ratio"]
    lines.append(f"throughput adref/ceiling: {'-' if ratio is None else f'{ratio:.2f}'}")
    cpu = result.get("cpu_ms_per_message") or {}
    if cpu:
        lines.append(f"CPU per message: web workers {number(cpu.get('web_workers'))} ms, "
                     f"PostgreSQL {number(cpu.get('postgres'))} ms, this process (load "
                     f"generator and fakes) {number(cpu.get('bench'))} ms")
    if result.get("worker_rss_mib"):
        lines.append("web worker memory after the load (RSS): "
                     + ", ".join(f"{m:.0f} MiB" for m in result["worker_rss_mib"]))
    reply = result["reply_latency_ms"]
    lines.append(f"end-to-end reply latency (webhook sent -> first reply at the fake API): "
                 f"p50 {number(reply['p50'])} ms, p95 {number(reply['p95'])} ms")
    check = result["check"]
    if check["passed"]:
        lines.append(
            f"check: PASS - {check['replies']}/{check['expected_replies']} expected replies "
            f"reached the fakes exactly once, in order, across {check['chats']} chats; "
            f"{check['rhi_requests']} rhi_request rows for {result['conversations']} "
            f"conversations; {check['inbound_events']} inbound events for "
            f"{check['messages']} messages ({check['duplicates']} delivered twice)")
    else:
        lines.append(f"check: FAIL - {'; '.join(check['problems'][:10])}")
    if "elapsed_seconds" in result:
        lines.append(f"elapsed: {result['elapsed_seconds']:.1f} s")
    return "\n".join(lines)
