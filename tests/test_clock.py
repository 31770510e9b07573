"""Tests for bot.clock."""

from __future__ import annotations

from datetime import UTC, timedelta

from bot.clock import utcnow


def test_it_returns_an_aware_utc_time() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert now.utcoffset() == timedelta(0)
