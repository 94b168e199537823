"""routing.reports.build: a report of a day, week or month from the rollups alone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from qfweb.errors import QfError
from routing.models import CostReport, DailyRollup, Generation
from routing.reports.build import TOP, report_build, report_csv
from routing.reports.histogram import LATENCY, column
from routing.reports.rollup import rollup_day, rollup_days
from tests.routing.reports.usage_rows import generations

pytestmark = pytest.mark.django_db
MAY, APRIL = date(2025, 5, 1), date(2025, 4, 1)


def at(day: int, month: int = 5) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


def row(**fields):
    fields.setdefault("status", "ok")
    fields.setdefault("served_handle", "openai:gpt-4o")
    return fields


@pytest.fixture
def may():
    """May: three personas on two models, a failure, a fallback; April: less of it."""
    generations([
        row(at=at(2), persona_slug="ann", api_key_id=1, cost=Decimal("1.50000001"),
            tokens_in=100, tokens_out=10, latency_ms=120),
        row(at=at(2), persona_slug="ann", api_key_id=1, cost=Decimal("0.5"), tokens_in=50,
            latency_ms=180, status="ok_after_fallback", attempts=["rate_limited", "ok"]),
        row(at=at(3), persona_slug="bob", api_key_id=2, cost=Decimal("4"), tokens_in=10,
            served_handle="anthropic:claude-sonnet-4", latency_ms=2500, ttft_ms=300),
        row(at=at(31), persona_slug="cid", cost=Decimal("0.25"), latency_ms=60),
        row(at=at(31), persona_slug="cid", status="failed", served_handle="",
            error_code="timeout", attempts=["timeout", "timeout"]),
        row(at=at(20, 4), persona_slug="ann", api_key_id=1, cost=Decimal("3"), latency_ms=90),
        row(at=at(21, 4), persona_slug="ann", api_key_id=1, cost=Decimal("1"), latency_ms=95),
        row(at=at(1, 6), persona_slug="ann", cost=Decimal("100")),  # June: not in May
    ])
    for day in (at(20, 4), at(21, 4), at(2), at(3), at(31), at(1, 6)):  # the days with rows
        rollup_day(day.date())


def test_it_totals_the_period(may):
    totals = report_build("month", MAY).data["totals"]
    assert totals["requests"] == 5 and totals["failures"] == 1 and totals["fallbacks"] == 1
    assert totals["cost"] == "6.25000001" and totals["tokens_in"] == 160
    assert totals["attempts_failed"] == 3
    assert totals["latency_mean_ms"] == round((120 + 180 + 2500 + 60) / 4)
    # p50 of 60, 120, 180, 2500 is 120, in [100, 150); p95 is 2500, in [2000, 3000).
    assert 100 <= totals["latency_p50_ms"] < 150 and 2000 <= totals["latency_p95_ms"] < 3000
    assert 300 <= totals["ttft_p50_ms"] < 500


def test_it_compares_with_the_previous_period(may):
    data = report_build("month", MAY).data
    assert data["previous"]["start"] == "2025-04-01" and data["previous"]["last"] == "2025-04-30"
    assert data["previous"]["totals"]["requests"] == 2
    assert data["previous"]["totals"]["cost"] == "4.00000000"
    assert data["change"]["requests"] == {"delta": 3, "percent": 150.0}
    assert data["change"]["cost"] == {"delta": "2.25000001", "percent": 56.3}
    assert data["change"]["failures"] == {"delta": 1, "percent": None}  # none before


def test_it_lists_the_top_spenders_by_cost(may):
    top = report_build("month", MAY).data["top"]
    assert [(g["name"], g["cost"]) for g in top["persona"]] == [
        ("bob", "4.00000000"), ("ann", "2.00000001"), ("cid", "0.25000000")
    ]
    assert [g["name"] for g in top["key"]] == ["2", "1", ""]  # "" is no key
    assert [g["name"] for g in top["model"]] == [
        "anthropic:claude-sonnet-4", "openai:gpt-4o", ""
    ]
    assert [g["name"] for g in top["provider"]] == ["anthropic", "openai", ""]
    assert top["persona"][0]["cost_share"] == round(4 / 6.25000001, 4)
    assert top["persona"][2]["failures"] == 1


def test_it_keeps_only_the_biggest_spenders(db):
    generations([
        row(at=at(5), persona_slug=f"p{i:02d}", cost=Decimal(i)) for i in range(1, TOP + 4)
    ])
    rollup_days(date(2025, 5, 5), date(2025, 5, 5))
    top = report_build("day", date(2025, 5, 5)).data["top"]["persona"]
    assert [g["name"] for g in top] == [f"p{i:02d}" for i in range(TOP + 3, 3, -1)]


def test_it_gives_the_reasons_for_failures_and_fallbacks(may):
    data = report_build("month", MAY).data
    assert data["failure_reasons"] == [{"reason": "timeout", "count": 1}]
    assert data["fallback_reasons"] == [
        {"reason": "timeout", "count": 2}, {"reason": "rate_limited", "count": 1}
    ]


def test_its_daily_series_has_every_day_of_the_period(may):
    days = report_build("month", MAY).data["days"]
    assert [d["day"] for d in days] == [
        (MAY + timedelta(days=n)).isoformat() for n in range(31)
    ]
    by_day = {d["day"]: d["requests"] for d in days if d["requests"]}
    assert by_day == {"2025-05-02": 2, "2025-05-03": 1, "2025-05-31": 2}
    assert days[0]["cost"] == "0.00000000" and days[0]["latency_p50_ms"] is None


def test_a_week_runs_from_monday_and_a_day_is_one_day(may):
    week = report_build("week", date(2025, 4, 28)).data  # Monday 28 April to Sunday 4 May
    assert week["end"] == "2025-05-05" and week["totals"]["requests"] == 3
    assert week["previous"]["totals"]["requests"] == 1  # Monday 21 April
    day = report_build("day", date(2025, 5, 31)).data
    assert day["totals"]["requests"] == 2 and len(day["days"]) == 1


def test_it_reads_the_rollups_not_the_raw_rows(may):
    Generation.objects.all().delete()
    assert report_build("month", MAY).data["totals"]["requests"] == 5


def test_rebuilding_replaces_the_stored_report(may):
    first = report_build("month", MAY)
    DailyRollup.objects.filter(day=date(2025, 5, 31)).delete()
    second = report_build("month", MAY)
    assert second.pk == first.pk and CostReport.objects.count() == 1
    assert second.created_at >= first.created_at
    stored = CostReport.objects.get()
    assert stored.data["totals"]["requests"] == 3
    assert next(csv.DictReader(io.StringIO(stored.csv)))["requests"] == "3"


@pytest.mark.parametrize(
    ("period", "start", "field"),
    [("week", date(2025, 5, 27), "start"), ("month", date(2025, 5, 2), "start"),
     ("quarter", date(2025, 4, 1), "period")],
)
def test_a_bad_period_or_start_is_refused_naming_it(period, start, field):
    with pytest.raises(QfError) as caught:
        report_build(period, start)
    assert caught.value.field == field
    assert not CostReport.objects.exists()


def test_the_csv_holds_the_reports_tables(may):
    report = report_build("month", MAY)
    assert report.csv == report_csv(report)
    lines = list(csv.DictReader(io.StringIO(report.csv)))
    total = lines[0]
    assert (total["section"], total["name"]) == ("total", "2025-05-01 to 2025-05-31")
    assert total["cost"] == "6.25000001" and total["requests"] == "5"
    assert lines[1]["section"] == "previous" and lines[1]["cost"] == "4.00000000"
    assert sum(1 for line in lines if line["section"] == "day") == 31
    bob = next(line for line in lines if line["section"] == "persona" and line["name"] == "bob")
    assert bob["cost"] == "4.00000000" and bob["cost_share"] == str(round(4 / 6.25000001, 4))
    reason = next(line for line in lines if line["section"] == "failure_reason")
    assert (reason["name"], reason["count"]) == ("timeout", "1")


def test_it_reads_a_fixed_number_of_queries_however_many_rollups(django_assert_max_num_queries):
    def rollups(n: int) -> None:
        DailyRollup.objects.all().delete()
        DailyRollup.objects.bulk_create(
            DailyRollup(
                day=MAY + timedelta(days=i % 31), persona_slug=f"p{i}", model_handle=f"x:m{i % 13}",
                provider_name="x", api_key_id=i % 17, requests=3, failed=1, attempts_failed=1,
                cost=Decimal("0.1"), failure_reasons={"timeout": 1},
                fallback_reasons={"timeout": 1}, **{column(LATENCY, i % 20): 3},
            )
            for i in range(n)
        )

    rollups(3)
    with django_assert_max_num_queries(16) as few:
        report_build("month", MAY)
    rollups(600)
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = report_build("month", MAY).data
    assert data["totals"]["requests"] == 1800
