from __future__ import annotations

from django.apps import AppConfig


class PersonasConfig(AppConfig):
    name = "personas"
    verbose_name = "Personas"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from personas.profiles import PROFILE_MODELS
        from routing.snapshot import config_changed

        for model in PROFILE_MODELS:
            post_save.connect(config_changed, sender=model, dispatch_uid=f"config-{model.__name__}-save")
            post_delete.connect(config_changed, sender=model, dispatch_uid=f"config-{model.__name__}-delete")
