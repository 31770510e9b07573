"""Monthly reports per area (bot/reports.py), as a page with a chart and as a CSV file.

The page and the file show the same figures in the same order: FIGURES below is the one
list of what is reported. Both hold counts and durations only, never personal data, and
every view and export is in the audit trail.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from babel import dates, numbers
from flask import Response, abort, request

from bot import audit
from bot.casework import Actor
from bot.db import session_scope
from bot.i18n import WALES
from bot.reports import AreaMonth, month_bounds, monthly, scope
from webhooks.dashboard import blueprint
from webhooks.dashboard.auth import (
    current_areas,
    current_practitioner,
    login_required,
    now,
    runtime,
)
from webhooks.dashboard.pages import langs_for, render

_MONTH = re.compile(r"(\d{4})-(\d{2})")
# What is reported, in order: the catalog key that names it and how to read it off a row.
# None is a figure that cannot be worked out (no request was claimed, say).
Figure = Callable[[AreaMonth], int | float | None]
FIGURES: tuple[tuple[str, Figure], ...] = (
    ("requests", lambda r: r.requests),
    ("consents_given", lambda r: r.consents_given),
    ("consents_refused", lambda r: r.consents_refused),
    ("hours_to_claim", lambda r: r.median_hours_to_claim),
    ("hours_to_contact", lambda r: r.median_hours_to_contact),
    ("in_target", lambda r: r.contacted_in_target),
    ("share_in_target", lambda r: r.share_in_target),
    ("completed", lambda r: r.outcomes["completed"]),
    ("declined", lambda r: r.declines),
    ("unable_to_contact", lambda r: r.outcomes["unable_to_contact"]),
    ("transferred", lambda r: r.outcomes["transferred"]),
    ("withdrawn", lambda r: r.outcomes["withdrawn"]),
    ("withdrawals", lambda r: r.withdrawals),
    ("welsh_wanted", lambda r: r.welsh_wanted),
    ("welsh_given", lambda r: r.welsh_given),
)
CHART_WIDTH, BAR, GAP, LABEL = 640, 16, 14, 190


@dataclass(frozen=True)
class Report:
    """One month's figures for the signed-in practitioner, ready to show."""

    month: date
    rows: list[AreaMonth]
    target_hours: int


def _month() -> date:
    """The month asked for (?month=YYYY-MM), or this month in Wales."""
    asked = request.args.get("month")
    if asked is None:
        today = now().astimezone(WALES)
        return date(today.year, today.month, 1)
    found = _MONTH.fullmatch(asked)
    if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < 2000:
        abort(404)
    return date(int(found[1]), int(found[2]), 1)


def _report(action: str) -> Report:
    """Work out the month's figures for this practitioner, and put the look in the trail."""
    practitioner = current_practitioner()
    assert practitioner.id is not None
    month = _month()
    areas, unsure = scope(Actor(practitioner.id, practitioner.role, current_areas()))
    target = runtime().settings.rhi_target_hours
    with session_scope(runtime().engine) as session:
        rows = monthly(session, areas, *month_bounds(month.year, month.month), target,
                       unsure=unsure)
        audit.record(session, practitioner.id, action, month=f"{month:%Y-%m}")
    return Report(month, rows, target)


def _shift(month: date, by: int) -> str:
    index = month.year * 12 + month.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _value(value: int | float | None, key: str, lang: str) -> str:
    """A figure as written in lang: hours to one place, shares as percentages."""
    if value is None:
        return ""
    if key == "share_in_target":
        return numbers.format_percent(value, "#,##0%", locale=lang)
    if isinstance(value, float):
        return numbers.format_decimal(value, "#,##0.0", locale=lang)
    return numbers.format_decimal(value, locale=lang)


def _area_label(area: str | None, lang: str) -> str:
    found = runtime().content.area(area)
    if found is not None:
        return found.name(lang)
    return runtime().content.text(lang, "dash.reports.area_unknown")


def _chart(rows: list[AreaMonth], lang: str) -> dict[str, object]:
    """Bars for the SVG chart, drawn here so the page needs no script (the CSP allows none).

    Each area gets two bars: its requests, and those contacted within the target.
    """
    most = max((row.requests for row in rows), default=0) or 1
    scale = (CHART_WIDTH - LABEL - 40) / most
    bars = []
    for n, row in enumerate(rows):
        top = GAP + n * (2 * BAR + GAP)
        bars.append({
            "label": _area_label(row.area, lang), "y": top,
            "requests": row.requests, "requests_width": row.requests * scale,
            "in_target": row.contacted_in_target,
            "in_target_width": row.contacted_in_target * scale})
    return {"width": CHART_WIDTH, "height": GAP + len(rows) * (2 * BAR + GAP) + 24,
            "bar": BAR, "label": LABEL, "bars": bars}


@blueprint.get("/reports")
@login_required
def reports() -> tuple[str, int]:
    """The month's figures per area: a table and a chart, with the months either side."""
    practitioner = current_practitioner()
    lang = practitioner.language
    report = _report("report.viewed")
    table = [(key, [_value(figure(row), key, lang) or "—" for row in report.rows])
             for key, figure in FIGURES]
    return render(
        "reports.html", langs_for(practitioner), report=report, table=table,
        month_name=dates.format_date(report.month, "LLLL y", locale=lang),
        month_code=f"{report.month:%Y-%m}", chart=_chart(report.rows, lang),
        areas=[_area_label(row.area, lang) for row in report.rows],
        previous=_shift(report.month, -1), following=_shift(report.month, 1))


@blueprint.get("/reports.csv")
@login_required
def reports_csv() -> Response:
    """The same figures as a CSV file: a row per area, headings in the dashboard's language.

    UTF-8 with a byte-order mark, or Excel reads "Môn" and "Tor-faen" as another encoding.
    """
    lang = current_practitioner().language
    report = _report("report.exported")
    text = runtime().content.text
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([text(lang, "dash.reports.month"), text(lang, "dash.reports.area"),
                     *(text(lang, f"dash.reports.figure.{key}") for key, _ in FIGURES)])
    for row in report.rows:
        writer.writerow([f"{report.month:%Y-%m}", _area_label(row.area, lang),
                         *(_value(figure(row), key, lang) for key, figure in FIGURES)])
    return Response(
        "\ufeff" + out.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="adref-{report.month:%Y-%m}.csv"'})

