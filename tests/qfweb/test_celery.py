"""The Celery app: its tasks, and the default schedule that `migrate` puts into the
database, where beat reads it and operators change it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from qfweb.celery import app
from qfweb.schedule import install_schedule

# transaction=True: beat's scheduler opens connections of its own, which PostgreSQL
# refuses inside the test's atomic block.
pytestmark = pytest.mark.django_db(transaction=True)


def test_every_scheduled_task_exists() -> None:
    app.loader.import_default_modules()
    for entry in settings.QF_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_migrate_stores_the_default_schedule_that_beat_runs() -> None:
    PeriodicTask.objects.all().delete()
    assert install_schedule() == list(settings.QF_SCHEDULE)

    stored = {task.name: task for task in PeriodicTask.objects.select_related("interval", "crontab")}
    health = stored["health checks"]
    assert (health.task, health.interval.every) == ("routing.tasks.health_check_all", settings.QF_HEALTH_INTERVAL_S)
    monthly = stored["monthly cost report"]
    assert (monthly.crontab.day_of_month, monthly.crontab.hour, monthly.args) == ("1", "1", '["month"]')
    # (Beat loads crontab entries only near their hour, so the interval ones show here.)
    interval_entries = {name for name, entry in settings.QF_SCHEDULE.items() if isinstance(entry["schedule"], float)}
    assert interval_entries <= set(DatabaseScheduler(app=app).schedule)


def test_an_operators_change_survives_migrate_and_reaches_beat() -> None:
    install_schedule()
    health = PeriodicTask.objects.get(name="health checks")
    health.interval, _ = IntervalSchedule.objects.get_or_create(every=300, period=IntervalSchedule.SECONDS)
    health.save()
    rollups = PeriodicTask.objects.get(name="rollups")
    rollups.enabled = False
    rollups.save()

    assert install_schedule() == []

    assert PeriodicTask.objects.get(name="health checks").interval.every == 300
    schedule = DatabaseScheduler(app=app).schedule
    assert schedule["health checks"].schedule.run_every.total_seconds() == 300
    assert "rollups" not in schedule
