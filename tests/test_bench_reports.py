"""The reports benchmark (bench/reports.py), run at a tiny size so a change that breaks it shows."""

from __future__ import annotations

import json

import pytest

from bench import reports


def test_the_reports_benchmark_seeds_and_times_at_a_tiny_size(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert reports.main(["--requests", "300", "--runs", "3", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["requests"] == 300
    assert {"queue_page", "report_manager", "report_admin"} <= set(figures)
