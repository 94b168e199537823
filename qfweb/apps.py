from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QfwebConfig(AppConfig):
    name = "qfweb"
    verbose_name = "qfweb"

    def ready(self) -> None:
        from qfweb.schedule import install_schedule

        post_migrate.connect(install_schedule, sender=self, dispatch_uid="qfweb-schedule")
