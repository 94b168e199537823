from __future__ import annotations

from django.apps import AppConfig


class QfwebConfig(AppConfig):
    name = "qfweb"
    verbose_name = "qfweb"
