"""What the dashboard's usage reports page shows (issue 7), read from the daily rollups:
filters parsed from a query string, KPIs against the previous period, daily series, the
breakdown tables, the reasons for failures and fallbacks, and the rows of its CSV.

Every read is a fixed number of queries however many days and groups the range holds: the
database takes every sum (histogram buckets included), and percentiles are read from the
merged histograms (routing.reports.histogram), never averaged.

Freshness: the beat task rolls up today and yesterday every QF_ROLLUP_INTERVAL_S (10 min),
so today's rows could be that old. When the range takes in today or yesterday, the page
rolls that day up itself first, at most once a minute for all viewers (a cache flag taken
with `add`, so concurrent viewers do not roll up the same day twice). Rollups are derived
data and a day's rollup is idempotent (routing.reports.rollup), so a GET may refresh them.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet

from routing.models import DailyRollup
from routing.models.reports import NO_KEY
from routing.reports.build import COST_PLACES, DIMENSIONS, SUMS
from routing.reports.histogram import LATENCY, TTFT, columns, percentile
from routing.reports.periods import days_of
from routing.reports.rollup import rollup_day

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(9000, 12, 31)  # keeps every date sum in range
STACKED = 8  # breakdown values drawn in the daily chart; the rest is OTHER
OTHER = "(other)"  # not a slug, task or provider name: those take no parentheses
REFRESH_S = 60
FILTERS = ("persona", "task", "model", "provider", "key")
BREAKDOWNS = ("model", "provider", "persona", "task", "key")
LATENCY_COLUMNS, TTFT_COLUMNS = columns(LATENCY), columns(TTFT)
DAILY_SUMS = {
    f"sum_{name}": SUMS[f"sum_{name}"]
    for name in (
        "requests", "ok", "ok_after_fallback", "failed", "client_disconnected", "pending",
        "tokens_in", "tokens_out", "cost", "cost_estimated",
    )
}


@dataclass(frozen=True, slots=True)
class ReportFilters:
    first: date
    last: date  # included
    breakdown: str = "model"
    persona: str | None = None
    task: str | None = None
    model: str | None = None
    provider: str | None = None
    key: int | None = None  # NO_KEY: generations made without a key

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length that ends the day before `first`."""
        return self.first - timedelta(days=self.days), self.first - timedelta(days=1)

    def chosen(self) -> dict[str, Any]:
        """The optional filters that are set, by name."""
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name) is not None}

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links, the CSV and its file name)."""
        return {
            "start": self.first.isoformat(), "end": self.last.isoformat(),
            "breakdown": self.breakdown, **{k: str(v) for k, v in self.chosen().items()},
        }


def parse_filters(params: Mapping[str, str], today: date) -> tuple[ReportFilters, list[str]]:
    """The filters of a query string, and a message for each value that had to be ignored:
    a bad value never fails the page, it falls back to the default and says so."""
    messages: list[str] = []
    last = _date(params, "end", today, messages)
    first = _date(params, "start", last - timedelta(days=DEFAULT_DAYS - 1), messages)
    if first > last:
        messages.append(
            f"start ({first}) is after end ({last}): showing the {DEFAULT_DAYS} days up to end"
        )
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
        messages.append(f"a report covers at most {MAX_DAYS} days: showing those from {first}")
    breakdown = params.get("breakdown") or "model"
    if breakdown not in BREAKDOWNS:
        messages.append(f"breakdown must be one of {', '.join(BREAKDOWNS)}; showing by model")
        breakdown = "model"
    chosen: dict[str, Any] = {}
    for name in ("persona", "task", "model", "provider"):
        value = params.get(name, "").strip()[:300]
        if "\x00" in value:  # PostgreSQL refuses NUL in text: it can match nothing anyway
            messages.append(f"{name} must not contain NUL; ignored")
        elif value:
            chosen[name] = value
    key = params.get("key", "").strip()
    if key:
        if key.isdecimal() and int(key) < 2**63:
            chosen["key"] = int(key)
        else:
            messages.append(f"key must be a key's number (0 for none), not {key[:40]!r}; ignored")
    return ReportFilters(first, last, breakdown, **chosen), messages


def _date(params: Mapping[str, str], name: str, default: date, messages: list[str]) -> date:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        value = date.fromisoformat(text)
    except ValueError:
        messages.append(f"{name} must be a date as YYYY-MM-DD, not {text[:40]!r}; using {default}")
        return default
    if not EARLIEST <= value <= LATEST:
        messages.append(f"{name} must be between {EARLIEST} and {LATEST}; using {default}")
        return default
    return value


def refresh_recent(filters: ReportFilters, today: date) -> list[date]:
    """Roll up today and yesterday when the range takes them in and no viewer did in the
    last REFRESH_S seconds (see the module's docstring); the days rolled up."""
    rolled = []
    for day in (today - timedelta(days=1), today):
        in_range = filters.first <= day <= filters.last
        if in_range and cache.add(f"qf:reports:fresh:{day}", True, REFRESH_S):
            rollup_day(day)
            rolled.append(day)
    return rolled


def rollups(
    filters: ReportFilters, first: date | None = None, last: date | None = None
) -> QuerySet[DailyRollup]:
    """The rollup rows the filters select, between `first` and `last` (default: theirs).
    Unordered: the model's ordering would otherwise join every GROUP BY."""
    chosen = {DIMENSIONS[name]: value for name, value in filters.chosen().items()}
    return DailyRollup.objects.filter(
        day__gte=first or filters.first, day__lte=last or filters.last, **chosen
    ).order_by()


# ---- the figures ----------------------------------------------------------------------------


def figures(sums: Mapping[str, Any]) -> dict[str, Any]:
    """What the page says of a set of rollup rows, from their sums (`sum_<column>`); the
    histogram percentiles only when the sums include the buckets."""
    def value(name: str) -> Any:
        return sums.get(f"sum_{name}") or 0

    requests, failures, fallbacks = value("requests"), value("failed"), value("ok_after_fallback")
    cost = money(value("cost"))
    found = {
        "requests": requests, "ok": value("ok"), "fallbacks": fallbacks, "failures": failures,
        "other": value("client_disconnected") + value("pending"),
        "tokens_in": value("tokens_in"), "tokens_out": value("tokens_out"),
        "cost": cost, "cost_estimated": money(value("cost_estimated")),
        "error_pct": _percent(failures, requests), "fallback_pct": _percent(fallbacks, requests),
    }
    if f"sum_{LATENCY_COLUMNS[0]}" in sums:
        latency = [value(c) for c in LATENCY_COLUMNS]
        found.update(
            latency_p50_ms=percentile(latency, 50), latency_p95_ms=percentile(latency, 95),
            latency_p99_ms=percentile(latency, 99),
            ttft_p50_ms=percentile([value(c) for c in TTFT_COLUMNS], 50),
        )
    return found


def money(value: Decimal | float | int) -> Decimal:
    """A sum at the rollups' precision. SQLite adds decimals as floats."""
    return Decimal(value).quantize(COST_PLACES)


def _percent(part: int, whole: int) -> float | None:
    return part * 100 / whole if whole else None


def totals(filters: ReportFilters) -> dict[str, Any]:
    """The range's figures and the previous period's (same length, just before): 2 queries."""
    current = figures(rollups(filters).aggregate(**SUMS))
    before = figures(rollups(filters, *filters.previous).aggregate(**SUMS))
    return {"current": current, "previous": before}


def breakdown(filters: ReportFilters, dimension: str) -> list[dict[str, Any]]:
    """The groups of one dimension over the range, the biggest spenders first (1 query)."""
    column = DIMENSIONS[dimension]
    rows = rollups(filters).values(column).annotate(**SUMS)
    groups = [{"name": _name(dimension, row[column]), **figures(row)} for row in rows]
    return sorted(groups, key=lambda g: (-g["cost"], -g["requests"], g["name"]))


def daily(filters: ReportFilters, ranked: list[str]) -> dict[str, Any]:
    """Per day: spend by breakdown value (the STACKED first of `ranked`, then OTHER) and
    requests by status (1 query). Every day of the range is there, zeros where none."""
    column = DIMENSIONS[filters.breakdown]
    drawn = ranked[:STACKED]
    # OTHER always has a place: a rollup landing between the ranking query and this one
    # can bring a value the ranking did not see. It is dropped again when it stays empty.
    series = [*drawn, OTHER]
    days = days_of(filters.first, filters.last + timedelta(days=1))
    spend = {day: dict.fromkeys(series, Decimal(0)) for day in days}
    counted = ("ok", "fallbacks", "failures", "other", "requests")
    status = {day: dict.fromkeys(counted, 0) for day in days}
    for row in rollups(filters).values("day", column).annotate(**DAILY_SUMS):
        name = _name(filters.breakdown, row[column])
        found = figures(row)
        spend[row["day"]][name if name in drawn else OTHER] += found["cost"]
        for figure in status[row["day"]]:
            status[row["day"]][figure] += found[figure]
    if not any(spend[day][OTHER] for day in days):
        series.remove(OTHER)
        for day in days:
            del spend[day][OTHER]
    return {
        "series": series,
        "rows": [
            {"day": day, "spend": list(spend[day].values()), "total": sum(spend[day].values()),
             **status[day]}
            for day in days
        ],
    }


def reasons(filters: ReportFilters) -> dict[str, list[tuple[str, int]]]:
    """Error codes of the failed generations and outcomes of the failed attempts, the most
    frequent first (1 query, over the rows that have any)."""
    failures: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    rows = rollups(filters).filter(Q(failed__gt=0) | Q(attempts_failed__gt=0))
    for failed, fell_back in rows.values_list("failure_reasons", "fallback_reasons"):
        failures.update(failed)
        fallbacks.update(fell_back)
    return {
        "failures": sorted(failures.items(), key=lambda item: (-item[1], item[0])),
        "fallbacks": sorted(fallbacks.items(), key=lambda item: (-item[1], item[0])),
    }


def choices(filters: ReportFilters) -> dict[str, list[tuple[str, str]]]:
    """The values each optional filter can take over the range, as (value, label): one
    query, whatever the other filters say (so a filter can be changed, not only narrowed)."""
    found: dict[str, set[Any]] = defaultdict(set)
    every = ReportFilters(filters.first, filters.last)
    for row in rollups(every).values(*DIMENSIONS.values()).distinct():
        for name, column in DIMENSIONS.items():
            found[name].add(row[column])
    for name, value in filters.chosen().items():  # a chosen value stays choosable
        found[name].add(value)
    # "" (no persona, task or model) cannot be chosen: the empty value means "all".
    return {
        name: [(str(v), _name(name, v) or "(none)") for v in sorted(found[name]) if v != ""]
        for name in FILTERS
    }


def _name(dimension: str, value: Any) -> str:
    """A group's name: "" where the generations had none (no persona, no key, nothing
    served); keys by their number, as routing does not know the key store."""
    if dimension == "key":
        return "" if value in (NO_KEY, None) else f"key {value}"
    return str(value)


# ---- the CSV --------------------------------------------------------------------------------

CSV_FIGURES = (
    "requests", "ok", "fallbacks", "failures", "tokens_in", "tokens_out", "cost",
    "cost_estimated", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms",
)


def export_header(filters: ReportFilters) -> list[str]:
    return ["day", filters.breakdown, *CSV_FIGURES]


def export_rows(filters: ReportFilters) -> Iterator[list[Any]]:
    """One row per day x breakdown value with figures, oldest day first, as plain values
    (the key's number, "" where none; cost as Decimal); read lazily in one query."""
    column = DIMENSIONS[filters.breakdown]
    rows = rollups(filters).values("day", column).annotate(**SUMS).order_by("day", column)
    for row in rows.iterator(chunk_size=500):
        found = figures(row)
        value = row[column]
        name = "" if filters.breakdown == "key" and value == NO_KEY else value
        yield [row["day"].isoformat(), name, *(found[figure] for figure in CSV_FIGURES)]


def export_filename(filters: ReportFilters) -> str:
    """`qfweb-usage-<start>-to-<end>-by-<breakdown>[-<filter>-<value>...].csv`, each
    value reduced to characters that are safe in a file name."""
    parts = [f"qfweb-usage-{filters.first}-to-{filters.last}-by-{filters.breakdown}"]
    for name, value in filters.chosen().items():
        parts.append(f"{name}-{re.sub(r'[^A-Za-z0-9._]+', '_', str(value))[:40]}")
    return "-".join(parts) + ".csv"
