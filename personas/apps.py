from __future__ import annotations

from django.apps import AppConfig


class PersonasConfig(AppConfig):
    name = "personas"
    verbose_name = "Personas"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from personas.models import ApiKey
        from personas.profiles import PROFILE_MODELS
        from routing.snapshot import config_changed, watch

        watch(*PROFILE_MODELS)
        # Verified keys are cached under the configuration version (personas.keys): a change
        # to a key or its scopes must move it too.
        watch(ApiKey)
        for through in (ApiKey.personas.through, ApiKey.tasks.through):
            m2m_changed.connect(config_changed, sender=through, dispatch_uid=f"config-{through._meta.label}")
