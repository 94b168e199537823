"""routing.reports.dashboard: the reports page's filters and figures, from the rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from routing.models import DailyRollup
from routing.reports import dashboard
from routing.reports.dashboard import MAX_DAYS, OTHER, ReportFilters, parse_filters
from routing.reports.histogram import LATENCY, column
from routing.reports.rollup import rollup_day
from tests.routing.reports.usage_rows import generations

TODAY = date(2025, 5, 31)
MAY = ReportFilters(date(2025, 5, 1), date(2025, 5, 31))


# ---- filters (no database) ------------------------------------------------------------------


def test_the_default_range_is_the_last_30_days_including_today():
    filters, notes = parse_filters({}, TODAY)
    assert (filters.first, filters.last, filters.breakdown) == (date(2025, 5, 2), TODAY, "model")
    assert filters.days == 30 and notes == []


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    filters, _ = parse_filters({"start": "2025-05-01", "end": "2025-05-10"}, TODAY)
    assert filters.previous == (date(2025, 4, 21), date(2025, 4, 30))


@pytest.mark.parametrize(
    ("params", "noted"),
    [
        ({"start": "yesterday"}, "start must be a date"),
        ({"end": "2025-13-01"}, "end must be a date"),
        ({"start": "1500-01-01"}, "start must be between"),
        ({"start": "2025-05-20", "end": "2025-05-10"}, "is after end"),
        ({"breakdown": "colour"}, "breakdown must be one of"),
        ({"key": "abc"}, "key must be a key's number"),
        ({"key": "-3"}, "key must be a key's number"),
        ({"key": str(2**64)}, "key must be a key's number"),
        ({"persona": "a\x00b"}, "persona must not contain NUL"),
    ],
)
def test_a_bad_value_falls_back_to_the_default_and_says_so(params, noted):
    filters, notes = parse_filters(params, TODAY)
    assert len(notes) == 1 and noted in notes[0]
    assert filters.breakdown in dashboard.BREAKDOWNS and filters.key is None
    assert filters.first <= filters.last


def test_a_range_is_capped():
    filters, notes = parse_filters({"start": "2020-01-01", "end": "2025-05-31"}, TODAY)
    assert filters.days == MAX_DAYS and filters.last == TODAY
    assert "at most 366 days" in notes[0]


def test_optional_filters_are_kept_and_named_in_the_file_name():
    params = {"start": "2025-05-01", "end": "2025-05-31", "breakdown": "persona", "persona": "=cmd()",
              "provider": "openai", "key": "0", "task": "  "}
    filters, notes = parse_filters(params, TODAY)
    assert notes == [] and filters.chosen() == {"persona": "=cmd()", "provider": "openai", "key": 0}
    assert dashboard.export_filename(filters) == (
        "qfweb-usage-2025-05-01-to-2025-05-31-by-persona-persona-_cmd_-provider-openai-key-0.csv"
    )


# ---- figures over rollups -------------------------------------------------------------------


def at(day: int, month: int = 5) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


@pytest.fixture
def usage(db):
    """May and April, rolled up; the figures below are worked out by hand from these rows."""
    rows = [
        dict(at=at(2), persona_slug="ann", status="ok", served_handle="openai:gpt-4o",
             cost=Decimal("1.5"), tokens_in=100, tokens_out=10, latency_ms=120, api_key_id=7),
        dict(at=at(2), persona_slug="ann", status="ok_after_fallback", served_handle="anthropic:claude",
             cost=Decimal("0.5"), latency_ms=180, attempts=["rate_limited", "ok"]),
        dict(at=at(3), persona_slug="bob", status="failed", served_handle="", error_code="timeout",
             attempts=["timeout", "timeout"]),
        dict(at=at(3), persona_slug="bob", status="ok", served_handle="openai:gpt-4o",
             cost=Decimal("2"), latency_ms=2500, ttft_ms=300),
        dict(at=at(20, 4), persona_slug="ann", status="ok", served_handle="openai:gpt-4o",
             cost=Decimal("1"), latency_ms=90),
    ]
    generations([{"task_name": "", **row} for row in rows])
    for day in (at(2), at(3), at(20, 4)):
        rollup_day(day.date())


def test_totals_and_the_previous_period(usage):
    totals = dashboard.totals(MAY)
    now, before = totals["current"], totals["previous"]
    assert (now["requests"], now["ok"], now["fallbacks"], now["failures"]) == (4, 2, 1, 1)
    assert now["cost"] == Decimal("4.00000000") and now["tokens_in"] == 100
    assert now["error_pct"] == 25.0 and now["fallback_pct"] == 25.0
    # p50 of 120, 180, 2500 (nearest rank) lies in 180's bucket; p95 in 2500's.
    assert 150 <= now["latency_p50_ms"] < 200 and 2000 <= now["latency_p95_ms"] < 3000
    assert before["requests"] == 1 and before["cost"] == Decimal("1.00000000")


def test_a_breakdown_lists_the_biggest_spenders_first(usage):
    by_model = dashboard.breakdown(MAY, "model")
    assert [(g["name"], g["requests"], g["cost"]) for g in by_model] == [
        ("openai:gpt-4o", 2, Decimal("3.50000000")),
        ("anthropic:claude", 1, Decimal("0.50000000")),
        ("", 1, Decimal("0E-8")),
    ]
    by_key = dashboard.breakdown(MAY, "key")
    assert {g["name"]: g["requests"] for g in by_key} == {"key 7": 1, "": 3}


def test_filters_narrow_every_figure(usage):
    bob = ReportFilters(MAY.first, MAY.last, persona="bob")
    assert dashboard.totals(bob)["current"]["requests"] == 2
    assert [g["name"] for g in dashboard.breakdown(bob, "persona")] == ["bob"]
    assert dashboard.totals(ReportFilters(MAY.first, MAY.last, key=0))["current"]["requests"] == 3


def test_daily_series_cover_every_day_and_fold_the_rest_into_other(usage, monkeypatch):
    monkeypatch.setattr(dashboard, "STACKED", 1)
    ranked = [g["name"] for g in dashboard.breakdown(MAY, "model")]
    days = dashboard.daily(MAY, ranked)
    assert days["series"] == ["openai:gpt-4o", OTHER] and len(days["rows"]) == 31
    second, third = days["rows"][1], days["rows"][2]
    assert second["spend"] == [Decimal("1.5"), Decimal("0.5")] and second["total"] == Decimal(2)
    assert (second["ok"], second["fallbacks"], second["failures"]) == (1, 1, 0)
    assert (third["requests"], third["failures"]) == (2, 1)
    assert days["rows"][0]["requests"] == 0 and days["rows"][0]["total"] == 0


def test_reasons_and_choices(usage):
    reasons = dashboard.reasons(MAY)
    assert reasons == {"failures": [("timeout", 1)], "fallbacks": [("timeout", 2), ("rate_limited", 1)]}
    choices = dashboard.choices(ReportFilters(MAY.first, MAY.last, persona="bob"))
    assert [value for value, _ in choices["persona"]] == ["ann", "bob"]  # not narrowed by itself
    assert choices["key"] == [("0", "(none)"), ("7", "key 7")]


def test_percentiles_come_from_merged_histograms(db):
    DailyRollup.objects.bulk_create([
        DailyRollup(day=date(2025, 5, d), model_handle="m:x", requests=10, ok=10,
                    **{column(LATENCY, bucket): 10})
        for d, bucket in ((1, 7), (2, 13))  # [100, 150) and [1000, 1500)
    ])
    only = dashboard.breakdown(MAY, "model")[0]
    assert only["requests"] == 20
    assert 100 <= only["latency_p50_ms"] < 150 and 1000 <= only["latency_p95_ms"] < 1500


def test_export_rows_are_one_per_day_and_value(usage):
    rows = list(dashboard.export_rows(ReportFilters(MAY.first, MAY.last, breakdown="key")))
    assert [row[:3] for row in rows] == [["2025-05-02", "", 1], ["2025-05-02", 7, 1], ["2025-05-03", "", 2]]
    assert dashboard.export_header(MAY)[:3] == ["day", "model", "requests"]


def test_recent_days_are_rolled_up_once_a_minute(usage, django_assert_num_queries):
    filters = ReportFilters(date(2025, 5, 1), date(2025, 5, 3))
    generations([dict(at=at(3), persona_slug="cid", status="ok", served_handle="openai:gpt-4o")])
    assert dashboard.refresh_recent(filters, date(2025, 5, 3)) == [date(2025, 5, 2), date(2025, 5, 3)]
    assert dashboard.totals(filters)["current"]["requests"] == 5
    with django_assert_num_queries(0):
        assert dashboard.refresh_recent(filters, date(2025, 5, 3)) == []
    assert dashboard.refresh_recent(MAY, date(2025, 6, 5)) == []  # not in the range


def test_a_value_the_ranking_did_not_see_is_folded_into_other_not_a_key_error(usage):
    """A rollup landing between the ranking query and the daily one brings a new value."""
    days = dashboard.daily(MAY, ["openai:gpt-4o"])  # the ranking missed anthropic:claude
    assert days["series"] == ["openai:gpt-4o", OTHER]
    assert days["rows"][1]["spend"] == [Decimal("1.5"), Decimal("0.5")]


def test_other_is_left_out_when_nothing_falls_into_it(usage):
    ranked = [g["name"] for g in dashboard.breakdown(MAY, "model")]
    assert OTHER not in dashboard.daily(MAY, ranked)["series"]
