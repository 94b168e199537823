"""Personas as routing reads them: `PersonaProfile`s, built in three queries, held per
process under the same configuration version as the routing snapshot (STYLE B-3)."""

from __future__ import annotations

from collections import defaultdict
from types import MappingProxyType

from personas.models import Persona, PersonaFallback, PersonaTaskOverride
from qfweb.errors import NotFound
from routing.config import PersonaProfile
from routing.snapshot import PerProcess


def profiles_build(version: int = 0) -> MappingProxyType[str, PersonaProfile]:
    fallbacks: dict[int, list[str]] = defaultdict(list)
    for persona_id, provider, model in PersonaFallback.objects.order_by("persona_id", "position").values_list(
        "persona_id", "model__provider__name", "model__name"
    ):
        fallbacks[persona_id].append(f"{provider}:{model}")
    overrides: dict[int, dict[str, str]] = defaultdict(dict)
    override_params: dict[int, dict[str, object]] = defaultdict(dict)
    for persona_id, task, provider, model, params in PersonaTaskOverride.objects.values_list(
        "persona_id", "task__name", "model__provider__name", "model__name", "params"
    ):
        overrides[persona_id][task] = f"{provider}:{model}"
        override_params[persona_id][task] = MappingProxyType(params or {})
    profiles = {
        slug: PersonaProfile(
            slug=slug,
            modality=modality,
            model=f"{model_provider}:{model}" if model else None,
            provider=provider,
            fallbacks=tuple(fallbacks.get(pk, ())),
            task_overrides=MappingProxyType(overrides.get(pk, {})),
            task_params=MappingProxyType(override_params.get(pk, {})),
            params=MappingProxyType(params or {}),
            system_prompt=system_prompt,
            is_enabled=enabled,
            monthly_budget=budget,
        )
        for pk, slug, modality, model_provider, model, provider, params, system_prompt, enabled, budget in Persona.objects.values_list(
            "id", "slug", "modality", "model__provider__name", "model__name", "provider__name", "params", "system_prompt",
            "is_enabled", "monthly_budget",
        )
    }
    return MappingProxyType(profiles)


_profiles = PerProcess(profiles_build)


def profiles_all() -> MappingProxyType[str, PersonaProfile]:
    return _profiles.get()


def profile_get(slug: str) -> PersonaProfile:
    profile = _profiles.get().get(slug)
    if profile is None:
        raise NotFound(f"unknown persona {slug!r}")
    return profile


PROFILE_MODELS = (Persona, PersonaFallback, PersonaTaskOverride)
