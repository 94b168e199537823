"""Cost reports for a day, a week or a month, built from the daily rollups only (issue 6):
totals, the comparison with the previous period, top spenders, the reasons for failures and
fallbacks, a daily series, and the CSV of all of it.

A build reads a fixed number of queries however many rollup rows the period has: every sum
(the histogram buckets included) is taken by the database. Rebuilding a report replaces
the stored one (one row per period and start).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from routing.models import CostReport, DailyRollup
from routing.models.reports import NO_KEY
from routing.reports.export import data_csv
from routing.reports.histogram import LATENCY, TTFT, columns, percentile
from routing.reports.periods import (
    check_period,
    days_of,
    last_complete_start,
    period_end,
    previous_start,
)
from routing.reports.rollup import rollup_days

TOP = 10  # groups listed per dimension, the biggest spenders first
COUNTS = (
    "requests", "ok", "ok_after_fallback", "failed", "client_disconnected", "pending",
    "streamed", "usage_estimated", "attempts_failed", "tokens_in", "tokens_out", "images",
    "characters", "latency_ms_sum",
)
MONEY = ("cost", "cost_estimated")
HISTOGRAMS = {LATENCY: columns(LATENCY), TTFT: columns(TTFT)}
SUMMED = (*COUNTS, *MONEY, *HISTOGRAMS[LATENCY], *HISTOGRAMS[TTFT])
# Aliased: an annotation may not take the name of a rollup column.
SUMS = {f"sum_{name}": Sum(name, default=0) for name in SUMMED}
COST_PLACES = Decimal(10) ** -DailyRollup._meta.get_field("cost").decimal_places
# Dimension in the report -> rollup column.
DIMENSIONS = {
    "persona": "persona_slug",
    "task": "task_name",
    "model": "model_handle",
    "provider": "provider_name",
    "key": "api_key_id",
}
COMPARED = (
    "requests", "fallbacks", "failures", "tokens_in", "tokens_out", "cost",
    "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms",
)


def report_build(period: str, start: date) -> CostReport:
    """Build and store the report of the `period` ("day", "week" or "month") that starts on
    `start`, replacing any stored one; reads the rollups only, so roll the days up first."""
    period = check_period(period).value
    end = period_end(period, start)
    rollups = _rollups(start, end)
    totals = _figures(_sum(rollups))
    data: dict[str, Any] = {
        "period": period,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "last": (end - timedelta(days=1)).isoformat(),
        "time_zone": settings.TIME_ZONE,
        "totals": totals,
        "previous": None,
        "change": None,
        "top": {name: _top(rollups, name, totals) for name in DIMENSIONS},
        "days": _days(rollups, start, end),
        **_reasons(rollups),
    }
    before = previous_start(period, start)
    if before is not None:
        previous = _figures(_sum(_rollups(before, start)))
        data["previous"] = {
            "start": before.isoformat(),
            "end": start.isoformat(),
            "last": (start - timedelta(days=1)).isoformat(),
            "totals": previous,
        }
        data["change"] = {name: _change(totals[name], previous[name]) for name in COMPARED}
    built = CostReport(period=period, start=start, end=end, data=data)
    report, _ = CostReport.objects.update_or_create(
        period=period, start=start,
        defaults={"end": end, "created_at": timezone.now(), "data": data, "csv": report_csv(built)},
    )
    return report


def report_for(period: str, start: date | None = None) -> CostReport:
    """Roll up the days the report and its comparison read (up to today: later days have
    nothing yet), then build and store it; by default the period that just ended."""
    start = start or last_complete_start(period)
    end = period_end(period, start)  # a bad period or start fails here, before any work
    first = previous_start(period, start) or start
    last = min(end - timedelta(days=1), timezone.localdate())
    if first <= last:
        rollup_days(first, last)
    return report_build(period, start)


def report_csv(report: CostReport) -> str:
    """The report's tables as CSV (routing.reports.export)."""
    return data_csv(report.data)


def _rollups(first: date, end: date) -> QuerySet[DailyRollup]:
    return DailyRollup.objects.filter(day__gte=first, day__lt=end).order_by()


def _sum(rollups: QuerySet[DailyRollup]) -> dict[str, Any]:
    return rollups.aggregate(**SUMS)


def _figures(sums: dict[str, Any]) -> dict[str, Any]:
    """What a report says of a set of rollup rows, from their sums (`sum_<column>`)."""
    value = {name: sums[f"sum_{name}"] for name in SUMMED}
    latency, ttft = ([value[c] for c in HISTOGRAMS[h]] for h in (LATENCY, TTFT))
    timed = sum(latency)
    return {
        "requests": value["requests"],
        "ok": value["ok"],
        "fallbacks": value["ok_after_fallback"],
        "failures": value["failed"],
        "client_disconnected": value["client_disconnected"],
        "pending": value["pending"],
        "streamed": value["streamed"],
        "usage_estimated": value["usage_estimated"],
        "attempts_failed": value["attempts_failed"],
        "tokens_in": value["tokens_in"],
        "tokens_out": value["tokens_out"],
        "images": value["images"],
        "characters": value["characters"],
        "cost": _money(value["cost"]),
        "cost_estimated": _money(value["cost_estimated"]),
        "latency_mean_ms": round(value["latency_ms_sum"] / timed) if timed else None,
        "latency_p50_ms": percentile(latency, 50),
        "latency_p95_ms": percentile(latency, 95),
        "ttft_p50_ms": percentile(ttft, 50),
    }


def _top(
    rollups: QuerySet[DailyRollup], dimension: str, totals: dict[str, Any]
) -> list[dict[str, Any]]:
    """The TOP groups of a dimension by cost (then requests), each with its share of the cost."""
    column = DIMENSIONS[dimension]
    groups = (
        rollups.values(column).annotate(**SUMS)
        .order_by(F("sum_cost").desc(), F("sum_requests").desc(), column)[:TOP]
    )
    total_cost = Decimal(totals["cost"])
    top = []
    for group in groups:
        figures = _figures(group)
        share = Decimal(figures["cost"]) / total_cost if total_cost else 0
        name = _name(dimension, group[column])
        top.append({"name": name, **figures, "cost_share": round(float(share), 4)})
    return top


def _days(rollups: QuerySet[DailyRollup], start: date, end: date) -> list[dict[str, Any]]:
    """Every day of the period, oldest first; a day without rollups shows zeros."""
    by_day = {row["day"]: _figures(row) for row in rollups.values("day").annotate(**SUMS)}
    empty = _figures(dict.fromkeys(SUMS, 0))
    return [{"day": day.isoformat(), **by_day.get(day, empty)} for day in days_of(start, end)]


def _reasons(rollups: QuerySet[DailyRollup]) -> dict[str, list[dict[str, Any]]]:
    """Error codes of the failures and outcomes of the failed attempts, most frequent first,
    from the rows that have any."""
    failures: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    with_reasons = rollups.filter(Q(failed__gt=0) | Q(attempts_failed__gt=0))
    for failed, fell_back in with_reasons.values_list("failure_reasons", "fallback_reasons"):
        failures.update(failed)
        fallbacks.update(fell_back)
    return {"failure_reasons": _ranked(failures), "fallback_reasons": _ranked(fallbacks)}


def _ranked(counts: Counter[str]) -> list[dict[str, Any]]:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"reason": reason, "count": count} for reason, count in ordered]


def _change(now: Any, before: Any) -> dict[str, Any]:
    """Delta and percent change of one figure; None where either side has no value, a
    percent of None where the previous period had zero."""
    if now is None or before is None:
        return {"delta": None, "percent": None}
    if isinstance(now, str):  # money
        now, before = Decimal(now), Decimal(before)
        delta: Any = format(now - before, "f")
    else:
        delta = now - before
    percent = round(float((now - before) / before * 100), 1) if before else None
    return {"delta": delta, "percent": percent}


def _money(value: Decimal | float | int) -> str:
    """A sum at the rollups' precision, as exact text. SQLite adds decimals as floats."""
    return format(Decimal(value).quantize(COST_PLACES), "f")


def _name(dimension: str, value: Any) -> str:
    """A group's name: "" where the generations had none (no persona, no key, nothing served)."""
    if dimension == "key" and value == NO_KEY:
        return ""
    return str(value)
