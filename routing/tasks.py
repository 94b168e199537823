"""Celery tasks of routing: thin interfaces that take ids or names, call a service, and own
the retry policy (STYLE B-13). Each is idempotent, so a redelivery (acks_late) is harmless.
The default schedule is QF_SCHEDULE in settings, put into the database by `migrate`."""

from __future__ import annotations

import time
from datetime import date, timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from routing import health
from routing.models import Provider

# A probe is bounded by its own timeouts; this is the backstop for one that hangs anyway
# (a stuck DNS lookup, a wedged loop): the worker gets its process back (required test 32).
HEALTH_SOFT_LIMIT_S = settings.QF_HEALTH_TIMEOUT_S * 3
DB_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(soft_time_limit=HEALTH_SOFT_LIMIT_S, time_limit=HEALTH_SOFT_LIMIT_S + 10, acks_late=False)
def health_check_provider(provider: str) -> str:
    """Probe one provider and act on it. Not acknowledged late: a probe that killed its
    worker must not be handed to the next one."""
    started = time.monotonic()
    try:
        return health.check(provider).state
    except SoftTimeLimitExceeded:
        return health.timed_out(provider, round(time.monotonic() - started, 1)).state


@shared_task
def health_check_all() -> int:
    """One task per enabled provider, so a slow one holds up no other."""
    names = list(Provider.objects.filter(is_enabled=True).values_list("name", flat=True))
    for name in names:
        health_check_provider.delay(name)
    return len(names)


@shared_task(**DB_RETRY)
def prune_health_checks() -> int:
    return health.prune()


@shared_task(**DB_RETRY)
def rollup_recent() -> int:
    """Today's and yesterday's rollups: rows still land in them (streams end, clocks)."""
    from routing.reports.rollup import rollup_days

    today = timezone.localdate()
    return rollup_days(today - timedelta(days=1), today)


@shared_task(**DB_RETRY)
def build_cost_report(period: str, start: str | None = None) -> int:
    """Roll up the period's days, then build and store its report (by default the period
    that just ended); returns the report's id."""
    from routing.reports.build import report_for

    return report_for(period, date.fromisoformat(start) if start else None).pk
