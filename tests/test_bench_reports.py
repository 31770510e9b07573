"""The reports benchmark (bench/reports.py), run at a tiny size so a change that breaks it shows."""

from __future__ import annotations

import json

import pytest

from bench import reports

FIGURES = {"queue_page", "report_manager", "report_admin", "queue_page_http_manager",
           "queue_page_http_admin", "report_page_http_manager", "report_page_http_admin"}


def test_the_reports_benchmark_grows_the_database_and_times_each_size(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The suite's own fresh database: SQLite, or PostgreSQL (seeded in SQL) on its second run.
    assert reports.main(["--database-url", database_url, "--requests", "200", "300",
                         "--runs", "3", "--json"]) == 0

    figures = json.loads(capsys.readouterr().out)
    assert figures["runs"] == 3
    assert [size["requests"] for size in figures["sizes"]] == [200, 300]
    for size in figures["sizes"]:
        assert set(size) >= FIGURES
        assert all(size[name]["p95_ms"] >= size[name]["p50_ms"] > 0 for name in FIGURES)
