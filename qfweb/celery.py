"""The Celery app: background work nobody should wait for (DESIGN.md, runtime topology).

Configured from Django's settings (the CELERY_ names in qfweb/settings.py): Redis as the
broker when REDIS_URL is set, else kombu's filesystem transport in the data folder, which
needs no server and works across the processes of one machine. Periodic schedules live in
the database (django-celery-beat), editable in the admin; run exactly one beat.
"""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qfweb.settings")

app = Celery("qfweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
