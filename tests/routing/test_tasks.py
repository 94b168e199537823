"""The Celery tasks as plain functions (STYLE B-13): each loads what it needs and calls a
service; the services have their own tests. tests/routing/test_worker.py runs them in a
real worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from routing import tasks
from routing.models import CostReport, DailyRollup, Generation, HealthCheck
from tests.factories import provider

pytestmark = pytest.mark.django_db


def test_the_periodic_check_sends_one_task_per_enabled_provider(monkeypatch):
    provider(name="on", kind="echo")
    provider(name="off", kind="echo", is_enabled=False)
    sent = []
    monkeypatch.setattr(tasks.health_check_provider, "delay", sent.append)

    assert tasks.health_check_all() == 1
    assert sent == ["on"]


def test_a_provider_check_stores_its_row():
    provider(name="echo", kind="echo")
    assert tasks.health_check_provider("echo") == "healthy"
    assert HealthCheck.objects.get().state == "healthy"


def test_rollups_cover_today_and_yesterday():
    now = timezone.now()
    for at in (now, now - timedelta(days=1), now - timedelta(days=3)):
        row = Generation.objects.create(status="ok", persona_slug="p", cost=Decimal("1"))
        Generation.objects.filter(pk=row.pk).update(created_at=at)

    tasks.rollup_recent()

    assert sorted(DailyRollup.objects.values_list("day", flat=True)) == [
        timezone.localdate() - timedelta(days=1), timezone.localdate()
    ]


def test_the_report_task_builds_the_period_that_just_ended():
    yesterday = timezone.now() - timedelta(days=1)
    row = Generation.objects.create(status="ok", persona_slug="p", cost=Decimal("2"))
    Generation.objects.filter(pk=row.pk).update(created_at=yesterday)

    report = CostReport.objects.get(pk=tasks.build_cost_report("day"))

    assert report.start == timezone.localdate() - timedelta(days=1)
    assert report.data["totals"]["cost"] == "2.00000000"
    assert tasks.build_cost_report("day", report.start.isoformat()) == report.pk  # replaced


def test_pruning_keeps_recent_checks(settings):
    echo = provider(name="echo", kind="echo")
    old = HealthCheck.objects.create(provider=echo, is_ok=True)
    HealthCheck.objects.filter(pk=old.pk).update(checked_at=timezone.now() - timedelta(days=40))
    HealthCheck.objects.create(provider=echo, is_ok=True)
    assert tasks.prune_health_checks() == 1
