from __future__ import annotations

import pytest

from personas.history import persona_record_change, persona_snapshot
from personas.models import Persona, PersonaChange, PersonaFallback, PersonaTaskOverride
from routing.models import Task
from tests.factories import model, provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene_smith():
    prov = provider()
    persona = Persona.objects.create(slug="scene_smith", model=model(prov, "gpt-4o"), params={"temperature": 0.8})
    PersonaFallback.objects.create(persona=persona, model=model(prov, "gpt-4o-mini"), position=2)
    PersonaFallback.objects.create(persona=persona, model=model(prov, "o3"), position=1)
    PersonaTaskOverride.objects.create(
        persona=persona, task=Task.objects.create(name="validation"), model=model(prov, "mini"), params={"max_tokens": 500}
    )
    return persona


def test_snapshot_is_plain_data_with_handles_in_order(scene_smith):
    assert persona_snapshot(scene_smith) == {
        "slug": "scene_smith",
        "name": "",
        "description": "",
        "modality": "text",
        "system_prompt": "",
        "model": "openai:gpt-4o",
        "provider": None,
        "fallbacks": ["openai:o3", "openai:gpt-4o-mini"],
        "params": {"temperature": 0.8},
        "task_overrides": {"validation": {"model": "openai:mini", "params": {"max_tokens": 500}}},
        "is_enabled": True,
    }


def test_it_records_each_change_with_actor(scene_smith):
    persona_record_change(persona=scene_smith, action="created", actor="ops")
    scene_smith.params = {"temperature": 0.2}
    scene_smith.save()
    change = persona_record_change(persona=scene_smith, action="updated", actor="ops")
    assert change.snapshot["params"] == {"temperature": 0.2}
    assert [c.action for c in scene_smith.changes.all()] == ["updated", "created"]


def test_an_update_that_changes_nothing_is_not_recorded(scene_smith):
    persona_record_change(persona=scene_smith, action="created")
    assert persona_record_change(persona=scene_smith, action="updated") is None
    assert PersonaChange.objects.count() == 1


def test_history_outlives_the_persona(scene_smith):
    persona_record_change(persona=scene_smith, action="created")
    scene_smith.delete()
    change = PersonaChange.objects.get()
    assert change.persona is None and change.persona_slug == "scene_smith"
