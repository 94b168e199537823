from __future__ import annotations

from django.apps import AppConfig


class PersonasConfig(AppConfig):
    name = "personas"
    verbose_name = "Personas"

    def ready(self) -> None:
        from personas.profiles import PROFILE_MODELS
        from routing.snapshot import watch

        watch(*PROFILE_MODELS)
