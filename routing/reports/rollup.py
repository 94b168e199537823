"""Roll the usage record up into daily rows: one per day x persona x task x model x provider
x API key, with counts, sums, histograms and reasons (issue 6).

A day is rolled up in one transaction that deletes the day's rows and inserts them anew,
so re-running gives the same rows and a group that no longer exists (a pending generation
since served by another model) leaves nothing behind. An upsert would keep such stale rows.
Two workers rolling up the same day are serialised by a transaction-level advisory lock on
PostgreSQL (SQLite serialises writers itself); the second one recomputes from what the
first committed, so both end in the same rows.

Everything is aggregated by the database, three queries a day whatever the number of
generations: the groups (histogram buckets as filtered counts), the error codes of the
failures, and the outcomes of the attempts that did not succeed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Aggregate, Count, Q, QuerySet, Sum

from qfweb.errors import QfError
from routing.choices import AttemptOutcome, GenerationStatus
from routing.models import Attempt, DailyRollup, Generation
from routing.models.reports import NO_KEY
from routing.reports.histogram import BUCKETS, LATENCY, TTFT, bucket_range, column
from routing.reports.periods import day_bounds, days_of

# Generation field -> rollup field, for the dimensions of a group.
DIMENSIONS = {
    "persona_slug": "persona_slug",
    "task_name": "task_name",
    "served_handle": "model_handle",
    "api_key_id": "api_key_id",
}
FAILURE_STATUSES = (GenerationStatus.FAILED, GenerationStatus.FAILED_MID_STREAM)
COST_PLACES = Decimal(10) ** -DailyRollup._meta.get_field("cost").decimal_places
BATCH = 500  # rows per INSERT: ~90 columns each stays under PostgreSQL's 65,535 parameters
LOCK_NAMESPACE = 0x51F0  # first key of pg_advisory_xact_lock(namespace, day): "qf rollups"


def _status(*statuses: str) -> Count:
    return Count("pk", filter=Q(status__in=statuses))


def _bucket(field: str, bucket: int) -> Count:
    low, high = bucket_range(bucket)
    within = Q(**{f"{field}__gte": low})
    if high is not None:
        within &= Q(**{f"{field}__lt": high})
    return Count("pk", filter=within)


# Rollup field -> its aggregate over the day's generations of one group.
FIGURES: dict[str, Aggregate] = {
    "requests": Count("pk"),
    "ok": _status(GenerationStatus.OK),
    "ok_after_fallback": _status(GenerationStatus.OK_AFTER_FALLBACK),
    "failed": _status(*FAILURE_STATUSES),
    "client_disconnected": _status(GenerationStatus.CLIENT_DISCONNECTED),
    "pending": _status(GenerationStatus.PENDING),
    "streamed": Count("pk", filter=Q(is_streamed=True)),
    "usage_estimated": Count("pk", filter=Q(usage_estimated=True)),
    "tokens_in": Sum("tokens_in", default=0),
    "tokens_out": Sum("tokens_out", default=0),
    "images": Sum("images", default=0),
    "characters": Sum("characters", default=0),
    "cost": Sum("cost", default=Decimal(0)),
    "cost_estimated": Sum("cost", filter=Q(usage_estimated=True), default=Decimal(0)),
    "latency_ms_sum": Sum("latency_ms", default=0),
    **{column(LATENCY, i): _bucket("latency_ms", i) for i in range(BUCKETS)},
    **{column(TTFT, i): _bucket("ttft_ms", i) for i in range(BUCKETS)},
}
# Aliased on the way in: several names (tokens_in, cost) are also Generation columns.
ALIASED = {f"rolled_{name}": figure for name, figure in FIGURES.items()}

GroupKey = tuple[str, str, str, int]


def rollup_day(day: date) -> int:
    """Roll up the generations created on `day` (a calendar day in TIME_ZONE), replacing
    the day's rows; the number of rows written."""
    start, end = day_bounds(day)
    with transaction.atomic():
        _lock(day)
        rows = _rows(day, start, end)
        DailyRollup.objects.filter(day=day).delete()
        DailyRollup.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def rollup_days(first: date, last: date) -> int:
    """Roll up every day from `first` to `last`, both included, one transaction each; the
    number of rows written."""
    if last < first:
        raise QfError(f"must not be before the first day ({first})", field="last")
    return sum(rollup_day(day) for day in days_of(first, last + timedelta(days=1)))


def _lock(day: date) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, day.toordinal()]
            )


def _rows(day: date, start: datetime, end: datetime) -> list[DailyRollup]:
    generations = Generation.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    failures = _reasons(
        generations.filter(status__in=FAILURE_STATUSES), "error_code", prefix=""
    )
    attempts = Attempt.objects.filter(
        generation__created_at__gte=start, generation__created_at__lt=end
    ).exclude(outcome=AttemptOutcome.OK)
    fallbacks = _reasons(attempts, "outcome", prefix="generation__")
    groups = generations.values(*DIMENSIONS).annotate(**ALIASED)
    return [_row(day, group, failures, fallbacks) for group in groups]


def _reasons(rows: QuerySet[Any], reason: str, *, prefix: str) -> dict[GroupKey, dict[str, int]]:
    """{group: {reason: count}} for `rows`, whose group columns are reached by `prefix`."""
    fields = [f"{prefix}{name}" for name in DIMENSIONS]
    counted = rows.order_by().values_list(*fields, reason).annotate(n=Count("pk"))
    reasons: dict[GroupKey, dict[str, int]] = defaultdict(dict)
    for *group, why, n in counted:
        reasons[_key(group)][why] = n
    return reasons


def _key(group: Iterable[Any]) -> GroupKey:
    persona, task, handle, key_id = group
    return persona, task, handle, NO_KEY if key_id is None else key_id


def _row(
    day: date,
    group: dict[str, Any],
    failures: dict[GroupKey, dict[str, int]],
    fallbacks: dict[GroupKey, dict[str, int]],
) -> DailyRollup:
    key = _key(group[name] for name in DIMENSIONS)
    figures = {name: group[f"rolled_{name}"] for name in FIGURES}
    for money in ("cost", "cost_estimated"):  # SQLite adds decimals as floats
        figures[money] = Decimal(figures[money]).quantize(COST_PLACES)
    fallback_reasons = fallbacks.get(key, {})
    handle = key[2]
    return DailyRollup(
        day=day,
        **{rolled: value for rolled, value in zip(DIMENSIONS.values(), key, strict=True)},
        provider_name=handle.split(":", 1)[0] if ":" in handle else "",
        **figures,
        attempts_failed=sum(fallback_reasons.values()),
        failure_reasons=failures.get(key, {}),
        fallback_reasons=fallback_reasons,
    )
