"""A persona's whole configuration as plain data, and its change history.

`persona_snapshot` is the one serialisation of a persona: the change history stores it,
revert applies it back, and the export writes it.
"""
from __future__ import annotations

from typing import Any

from personas.models import Persona, PersonaChange


def persona_snapshot(persona: Persona) -> dict[str, Any]:
    return {
        "slug": persona.slug,
        "name": persona.name,
        "description": persona.description,
        "modality": persona.modality,
        "system_prompt": persona.system_prompt,
        "model": persona.model.handle if persona.model_id else None,
        "provider": persona.provider.name if persona.provider_id else None,
        "fallbacks": [f.model.handle for f in persona.fallbacks.select_related("model__provider")],
        "params": persona.params,
        "task_overrides": {
            o.task.name: {"model": o.model.handle, "params": o.params}
            for o in persona.task_overrides.select_related("task", "model__provider")
        },
        "is_enabled": persona.is_enabled,
    }


def persona_record_change(*, persona: Persona, action: str, actor: str = "") -> PersonaChange | None:
    """Store the persona's configuration after a change; nothing when it did not change."""
    snapshot = persona_snapshot(persona)
    last = persona.changes.order_by("-created_at", "-id").first()
    if last is not None and last.snapshot == snapshot and action == "updated":
        return None
    return PersonaChange.objects.create(
        persona=persona, persona_slug=persona.slug, action=action, actor=actor, snapshot=snapshot
    )
