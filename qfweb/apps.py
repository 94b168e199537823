from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QfwebConfig(AppConfig):
    name = "qfweb"
    verbose_name = "qfweb"

    def ready(self) -> None:
        from django.apps import apps

        from qfweb import checks  # noqa: F401 (registers the deployment checks)
        from qfweb.schedule import install_schedule

        # Sent for apps with models only: after django-celery-beat's tables are migrated.
        beat = apps.get_app_config("django_celery_beat")
        post_migrate.connect(install_schedule, sender=beat, dispatch_uid="qfweb-schedule")
