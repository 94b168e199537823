from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from routing.snapshot import CONFIG_MODELS, snapshot_forget, watch

        watch(*CONFIG_MODELS)
        setting_changed.connect(snapshot_forget, dispatch_uid="config-settings")
