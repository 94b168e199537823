from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_save

        from routing.snapshot import CONFIG_MODELS, config_changed, snapshot_forget

        for model in CONFIG_MODELS:
            post_save.connect(config_changed, sender=model, dispatch_uid=f"config-{model.__name__}-save")
            post_delete.connect(config_changed, sender=model, dispatch_uid=f"config-{model.__name__}-delete")
        setting_changed.connect(snapshot_forget, dispatch_uid="config-settings")
