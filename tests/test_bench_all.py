"""`python -m bench` (bench/__main__.py): every benchmark, one table.

The quick run goes through every benchmark at a tiny size, so a change that breaks one,
or drops a row from the table, is seen at once. It takes about half a minute; skip it
with `-m 'not bench'`. On PostgreSQL (ADREF_TEST_POSTGRES) the PostgreSQL rows run too;
on SQLite they must say why they did not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import sms
from bench.summary import Row, failed
from bot.cli_channels import RHI_BY_SMS, rhi_by_sms
from bot.content import Content
from tests.process import run_bench

ROOT = Path(__file__).resolve().parent.parent
# Far above the half minute a quick run takes; far below what a stuck one would take.
TIMEOUT_SECONDS = 240
# SIGTERM makes the benchmark stop gunicorn (up to its graceful timeout) and drop databases.
STOP_SECONDS = 60
POSTGRES = os.environ.get("ADREF_TEST_POSTGRES")


def every_key() -> set[str]:
    """Every row the table must have, written out here rather than taken from bench/."""
    journeys = ("rhi", "sheet", "services", "status", "keywords", "parent", "foster")
    keys = {f"sms.{journey}.{lang}" for journey in journeys for lang in ("cy", "en")}
    for db in ("sqlite", "postgresql"):
        keys |= {f"webhooks.{db}.busy.{figure}" for figure in (
            "throughput", "ceiling", "ratio", "latency", "ceiling_latency", "reply", "cpu",
            "check")}
        keys |= {f"webhooks.{db}.human.{figure}" for figure in (
            "throughput", "latency", "ceiling_latency", "reply", "cpu", "check")}
        keys.add(f"memory.web_worker.{db}")
        for n in (2, 8, 32):
            keys |= {f"claims.{db}.{n}", f"claims.{db}.{n}.latency"}
    keys |= {"memory.dispatcher", "dispatcher.rate"}
    figures = ("queue_page", "queue_page_http_manager", "queue_page_http_admin",
               "report_manager", "report_admin", "report_page_http_manager",
               "report_page_http_admin")
    for db, size in (("sqlite", "100k"), ("postgresql", "100k"), ("postgresql", "1m")):
        keys |= {f"reports.{db}.{size}.{figure}" for figure in figures}
    return keys


def quick_run() -> tuple[int, dict[str, Any], str]:
    """`python -m bench --quick --json`, on PostgreSQL too when the suite is."""
    where = ["--postgres", POSTGRES] if POSTGRES else ["--no-postgres"]
    code, out, err = run_bench("bench", "--quick", "--json", *where,
                               timeout=TIMEOUT_SECONDS, stop=STOP_SECONDS)
    assert out, f"exit {code}, nothing printed:\n{err}"
    return code, json.loads(out), err


@pytest.mark.bench
def test_the_quick_run_fills_every_row_of_the_table_and_passes_its_checks() -> None:
    code, result, err = quick_run()

    assert code == 0, f"{result['problems']}\n{err[-3000:]}"
    assert result["passed"] and not result["errors"], result["problems"]
    assert "Traceback" not in err, err
    rows = {row["key"]: row for row in result["rows"]}
    assert set(rows) == every_key(), set(rows) ^ every_key()
    for key, row in rows.items():
        if "postgresql" in key and not POSTGRES:
            assert not row["ran"] and row["value"] == "not run (--no-postgres)", row
            continue
        assert row["ran"], row
        assert row["value"] and not row["value"].startswith("-"), row
        assert row["unit"], row
        if row["check"]:
            assert row["verdict"] == "PASS", row
    # The targets are stated where they apply, and judged.
    assert rows["webhooks.sqlite.busy.ratio"]["target"] == ""
    for key in ("webhooks.postgresql.busy.ratio", "webhooks.postgresql.human.latency",
                "webhooks.postgresql.human.reply", "reports.postgresql.1m.report_admin",
                "reports.postgresql.1m.queue_page_http_manager"):
        assert rows[key]["target"], key
        if POSTGRES:
            assert rows[key]["verdict"].startswith(("yes", "NO")), rows[key]


def test_the_help_says_what_it_runs() -> None:
    result = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=ROOT, text=True,
                            capture_output=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    for words in ("--quick", "--json", "--postgres", "ADREF_BENCH_POSTGRES",
                  "python3 dev.py postgres", "not run (no PostgreSQL)", "Claim contention"):
        assert words in result.stdout, words


def test_a_missed_target_fails_the_command_only_when_strict() -> None:
    missed = Row("s", "a", "figure", "9", "ms", "p99 <= 5 ms", meets=False, miss="1.8x")
    broken = Row("s", "b", "check", "1/2", "replies", "exactly once", meets=False, check=True)
    skipped = Row("s", "c", "check", "not run", meets=False, check=True, ran=False)

    assert failed([missed, skipped]) == []
    assert failed([missed], strict=True) == [missed]
    assert failed([missed, broken]) == [broken]
    assert missed.verdict == "NO: 1.8x" and broken.verdict == "FAIL"


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_the_journeys_cost_what_adref_sms_budget_says_for_the_request(
        content: Content, lang: str) -> None:
    # bench/sms.py runs the other journeys with a loop of its own: it must count the
    # request exactly as `adref sms budget` does.
    counted = sms.walk(content, (), RHI_BY_SMS[lang])

    assert counted == [(t.text, t.cut) for t in rhi_by_sms(content, lang)]


def test_every_journey_can_be_walked_to_its_end_in_both_languages(content: Content) -> None:
    for lang in ("cy", "en"):
        costs = {row["journey"]: row for row in sms.every_journey(content) if
                 row["lang"] == lang}
        assert set(costs) == {j.key for j in sms.journeys(lang)}
        assert all(row["texts"] > 0 and row["segments"] >= row["texts"] and not row["cut"]
                   for row in costs.values()), costs
