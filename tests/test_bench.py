"""The webhook benchmark (bench/webhooks.py), run end to end at a tiny size.

It runs in the normal suite, so a change that breaks the benchmark is seen at once; it
takes about 10 s. Skip it with `-m 'not bench'`.
"""

from __future__ import annotations

import pytest

from tests.process import run_bench

# Far above the ~10 s a run takes; far below what a stuck one would take.
TIMEOUT_SECONDS = 90
# SIGTERM makes the benchmark stop gunicorn (up to its graceful timeout) and the fakes.
STOP_SECONDS = 40


@pytest.mark.bench
def test_a_tiny_run_prints_the_table_and_passes_its_exactly_once_check(
    database_url: str
) -> None:
    # The suite's own fresh database: SQLite, or PostgreSQL on the suite's second run.
    code, out, err = run_bench(
        "bench.webhooks", "--conversations", "4", "--workers", "1", "--threads", "2",
        "--duplicate-share", "0.25", "--timeout", "60", "--database-url", database_url,
        timeout=TIMEOUT_SECONDS, stop=STOP_SECONDS)
    assert code == 0, f"exit {code}:\n{out}\n{err}"
    assert "Traceback" not in err, err
    lines = out.splitlines()
    database = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    assert any(line.startswith(f"adref ({database})") for line in lines), out
    assert any(line.startswith("ceiling") for line in lines), out
    assert "throughput adref/ceiling:" in out
    assert "end-to-end reply latency" in out
    [check] = [line for line in lines if line.startswith("check:")]
    assert check.startswith("check: PASS"), check
    assert "4 rhi_request rows for 4 conversations" in check
    assert "52 inbound events for 52 messages (13 delivered twice)" in check
