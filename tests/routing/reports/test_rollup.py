"""routing.reports.rollup: daily rows by day x persona x task x model x provider x key
(RELIABILITY.md required test 33: a re-run gives the same rows; the rollups add up to the
raw rows; percentiles come from the histograms)."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qfweb.errors import QfError
from routing.choices import AttemptOutcome, GenerationStatus
from routing.models import DailyRollup, Generation
from routing.reports.histogram import (
    BOUNDS,
    LATENCY,
    TTFT,
    bucket_of,
    columns,
    counts_of,
    percentile,
)
from routing.reports.rollup import rollup_day, rollup_days
from routing.usage import percentile as exact_percentile
from tests.routing.reports.usage_rows import generation, generations

ZONES = ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham")
# New York's clocks go forward on 2025-03-09: one of these days has 23 hours there.
FIRST_DAY, LAST_DAY = date(2025, 3, 8), date(2025, 3, 10)
MIDNIGHTS = [
    datetime.combine(FIRST_DAY + timedelta(days=n), time(), ZoneInfo(zone)).astimezone(UTC)
    for zone in ZONES for n in range(1, 3)
]
# Moments either side of some zone's midnight, and anywhere in the window.
moments = st.sampled_from(MIDNIGHTS).flatmap(
    lambda m: st.sampled_from([m - timedelta(microseconds=1), m, m + timedelta(seconds=1)])
) | st.datetimes(
    min_value=datetime(2025, 3, 8, 14), max_value=datetime(2025, 3, 10, 10), timezones=st.just(UTC)
)
timings = st.none() | st.integers(0, 300_000) | st.sampled_from(
    sorted({v for b in BOUNDS for v in (b - 1, b)})
)
amounts = st.none() | st.integers(0, 2_000_000)
rows = st.fixed_dictionaries({
    "at": moments,
    "status": st.sampled_from(GenerationStatus.values),
    "persona_slug": st.sampled_from(["", "ann", "bob"]),
    "task_name": st.sampled_from(["", "summarize"]),
    "served_handle": st.sampled_from(["", "openai:gpt-4o", "anthropic:claude-sonnet-4", "local"]),
    "api_key_id": st.none() | st.sampled_from([1, 2]),
    "tokens_in": amounts,
    "tokens_out": amounts,
    "images": amounts,
    "characters": amounts,
    "cost": st.none() | st.decimals(min_value=0, max_value=1000, places=8),
    "latency_ms": timings,
    "ttft_ms": timings,
    "usage_estimated": st.booleans(),
    "is_streamed": st.booleans(),
    "error_code": st.sampled_from(["", "timeout", "upstream_error"]),
    "attempts": st.lists(st.sampled_from(AttemptOutcome.values), max_size=3),
})
FAILED = {GenerationStatus.FAILED, GenerationStatus.FAILED_MID_STREAM}
AMOUNTS = ("tokens_in", "tokens_out", "images", "characters")
SUMMED = ["requests", "tokens_in", "tokens_out", "images", "characters", "cost", "latency_ms_sum"]


@contextmanager
def rolled_back():
    """One hypothesis example's rows, gone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def rollup_rows() -> list[dict[str, Any]]:
    return list(DailyRollup.objects.order_by(*DailyRollup._meta.ordering).values(
        *(f.name for f in DailyRollup._meta.fields if f.name != "id")
    ))


def expected_rows(raw: list[dict[str, Any]], zone: str) -> list[dict[str, Any]]:
    """The rollups worked out in Python, row by row: the oracle."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in raw:
        handle = row["served_handle"]
        groups[(
            row["at"].astimezone(ZoneInfo(zone)).date(), row["persona_slug"], row["task_name"],
            handle, handle.split(":", 1)[0] if ":" in handle else "", row["api_key_id"] or 0,
        )].append(row)
    expected = []
    for (day, persona, task, handle, provider, key_id), members in sorted(groups.items()):
        status = Counter(m["status"] for m in members)
        failed_attempts = Counter(o for m in members for o in m["attempts"] if o != "ok")
        latencies = [m["latency_ms"] for m in members if m["latency_ms"] is not None]
        ttfts = [m["ttft_ms"] for m in members if m["ttft_ms"] is not None]
        expected.append({
            "day": day, "persona_slug": persona, "task_name": task, "model_handle": handle,
            "provider_name": provider, "api_key_id": key_id,
            "requests": len(members), "ok": status["ok"],
            "ok_after_fallback": status["ok_after_fallback"],
            "failed": status["failed"] + status["failed_mid_stream"],
            "client_disconnected": status["client_disconnected"], "pending": status["pending"],
            "streamed": sum(m["is_streamed"] for m in members),
            "usage_estimated": sum(m["usage_estimated"] for m in members),
            "attempts_failed": sum(failed_attempts.values()),
            **{f: sum(m[f] or 0 for m in members) for f in AMOUNTS},
            "cost": sum((m["cost"] or Decimal(0) for m in members), Decimal(0)),
            "cost_estimated": sum(
                (m["cost"] or Decimal(0) for m in members if m["usage_estimated"]), Decimal(0)
            ),
            "latency_ms_sum": sum(latencies),
            "failure_reasons": dict(
                Counter(m["error_code"] for m in members if m["status"] in FAILED)
            ),
            "fallback_reasons": dict(failed_attempts),
            **dict(zip(columns(LATENCY), counts_of(latencies), strict=True)),
            **dict(zip(columns(TTFT), counts_of(ttfts), strict=True)),
        })
    return expected


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.lists(rows, max_size=40), zone=st.sampled_from(ZONES))
def test_rolling_up_twice_gives_the_raw_rows_figures_exactly(raw, zone):
    with override_settings(TIME_ZONE=zone), rolled_back():
        generations(raw)
        written = rollup_days(FIRST_DAY, LAST_DAY)
        first = rollup_rows()
        assert rollup_days(FIRST_DAY, LAST_DAY) == written
        assert rollup_rows() == first == expected_rows(raw, zone)
        assert written == len(first)

        # The totals, straight from the database on both sides.
        rolled = DailyRollup.objects.aggregate(**{f: Sum(f, default=0) for f in SUMMED})
        generated = Generation.objects.aggregate(
            requests=Count("pk"), latency_ms_sum=Sum("latency_ms", default=0),
            **{f: Sum(f, default=0) for f in SUMMED if f not in ("requests", "latency_ms_sum")},
        )
        assert Decimal(rolled.pop("cost")).quantize(Decimal("1e-8")) == sum(
            (r["cost"] or Decimal(0) for r in raw), Decimal(0)
        )
        generated.pop("cost")
        assert rolled == generated

        # Percentiles from the merged histograms: in the bucket of the true value.
        latency = [sum(r[c] for r in first) for c in columns(LATENCY)]
        ttft = [sum(r[c] for r in first) for c in columns(TTFT)]
        latencies = [r["latency_ms"] for r in raw if r["latency_ms"] is not None]
        ttfts = [r["ttft_ms"] for r in raw if r["ttft_ms"] is not None]
        assert sum(latency) == len(latencies) and sum(ttft) == len(ttfts)
        for p in (50, 95):
            if latencies:
                true_value = exact_percentile(latencies, p)
                assert bucket_of(percentile(latency, p)) == bucket_of(true_value)
        if ttfts:
            assert bucket_of(percentile(ttft, 50)) == bucket_of(exact_percentile(ttfts, 50))


# ---- particular cases -----------------------------------------------------------------

DAY = date(2025, 5, 14)
NOON = datetime(2025, 5, 14, 12, tzinfo=UTC)


@pytest.mark.django_db
def test_a_re_run_drops_a_group_that_no_longer_exists():
    """A pending generation is rolled up unserved; once it is served, its old group goes."""
    pending = generation(status="pending", served_handle="", at=NOON)
    rollup_day(DAY)
    assert list(DailyRollup.objects.values_list("model_handle", "pending")) == [("", 1)]
    Generation.objects.filter(pk=pending.pk).update(status="ok", served_handle="openai:gpt-4o")
    assert rollup_day(DAY) == 1
    assert list(DailyRollup.objects.values_list("model_handle", "ok", "pending")) == [
        ("openai:gpt-4o", 1, 0)
    ]


@pytest.mark.django_db
def test_generations_without_a_key_share_one_group_under_key_0():
    generations([
        {"at": NOON, "status": "ok", "served_handle": "openai:gpt-4o", "api_key_id": None},
        {"at": NOON, "status": "ok", "served_handle": "openai:gpt-4o", "api_key_id": None},
        {"at": NOON, "status": "ok", "served_handle": "openai:gpt-4o", "api_key_id": 7},
    ])
    assert rollup_day(DAY) == 2
    assert rollup_day(DAY) == 2  # NULL keys would be distinct in the unique constraint
    assert dict(DailyRollup.objects.values_list("api_key_id", "requests")) == {0: 2, 7: 1}


@pytest.mark.django_db
def test_a_day_is_a_calendar_day_in_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+5:30
    generation(at=datetime(2025, 5, 13, 18, 29, tzinfo=UTC))  # 23:59 on the 13th there
    generation(at=datetime(2025, 5, 13, 18, 30, tzinfo=UTC))  # 00:00 on the 14th there
    assert rollup_days(date(2025, 5, 13), date(2025, 5, 14)) == 2
    assert dict(DailyRollup.objects.values_list("day", "requests")) == {
        date(2025, 5, 13): 1, date(2025, 5, 14): 1
    }


@pytest.mark.django_db
def test_it_counts_failure_and_fallback_reasons():
    generations([
        {"at": NOON, "status": "failed", "error_code": "timeout", "served_handle": "",
         "attempts": ["timeout", "http_error"]},
        {"at": NOON, "status": "failed_mid_stream", "error_code": "timeout", "served_handle": "",
         "attempts": ["timeout"]},
        {"at": NOON, "status": "client_disconnected", "error_code": "disconnected",
         "served_handle": "", "attempts": ["cancelled"]},
    ])
    rollup_day(DAY)
    row = DailyRollup.objects.get()
    assert (row.failed, row.client_disconnected, row.attempts_failed) == (2, 1, 4)
    assert row.failure_reasons == {"timeout": 2}  # a disconnect is not a failure
    assert row.fallback_reasons == {"timeout": 2, "http_error": 1, "cancelled": 1}


@pytest.mark.django_db
def test_an_empty_day_leaves_no_rows():
    generation(at=NOON)
    rollup_day(DAY)
    Generation.objects.all().delete()
    assert rollup_day(DAY) == 0 and not DailyRollup.objects.exists()


@pytest.mark.django_db
def test_rollup_days_refuses_a_range_that_ends_before_it_starts():
    with pytest.raises(QfError) as caught:
        rollup_days(DAY, DAY - timedelta(days=1))
    assert caught.value.field == "last"


@pytest.mark.django_db(transaction=True)
def test_workers_rolling_up_the_same_day_at_once_agree():
    """Serialised by an advisory lock on PostgreSQL; SQLite serialises writers itself (and
    an in-memory test database is one connection, so it is not tried there)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent connections need PostgreSQL")
    generations([
        {"at": NOON + timedelta(minutes=i), "status": "ok", "persona_slug": f"p{i % 7}",
         "served_handle": f"openai:m{i % 5}", "api_key_id": i % 3 or None, "cost": Decimal("0.5")}
        for i in range(300)
    ])
    rollup_day(DAY)
    alone = rollup_rows()
    start, errors = threading.Barrier(4), []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(3):
                rollup_day(DAY)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rollup_rows() == alone
