"""The default periodic schedule (settings.QF_SCHEDULE), put into django-celery-beat's
tables where beat reads it and operators change it."""

from __future__ import annotations

from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from qfweb.celery import app


def install_schedule(**_: object) -> list[str]:
    """Add the entries the database lacks (a post_migrate receiver); existing rows, edited
    or not, are left alone. Returns the names added."""
    present = set(PeriodicTask.objects.filter(name__in=settings.QF_SCHEDULE).values_list("name", flat=True))
    added = [name for name in settings.QF_SCHEDULE if name not in present]
    for name in added:
        ModelEntry.from_entry(name, app=app, **settings.QF_SCHEDULE[name])
    return added
