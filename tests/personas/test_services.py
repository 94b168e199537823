"""personas.services: applying persona snapshots and scenarios."""

from __future__ import annotations

import pytest

from personas.history import persona_snapshot
from personas.models import Persona, PersonaChange, Scenario
from personas.services import persona_apply, persona_delete, scenario_apply
from qfweb.errors import FieldErrors, UnknownReference
from routing.models import Task
from tests.factories import model, provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]


@pytest.fixture
def models():
    openai = provider()
    gemini = provider("gemini", kind="gemini", aliases=["google"], base_url="https://1.1.1.1")
    Task.objects.create(name="validation")
    return {
        "gpt": model(openai, "gpt-4o"),
        "mini": model(openai, "gpt-4o-mini"),
        "o3": model(openai, "o3"),
        "pro": model(gemini, "gemini-1.5-pro"),
        "image": model(provider("dalle", kind="openai_images"), "dall-e-3", modality="image"),
    }


def test_it_creates_a_persona_from_a_snapshot_and_records_it(models):
    result = persona_apply(
        data={
            "slug": "ei",
            "model": "google:gemini-1.5-pro",
            "fallbacks": ["openai:o3", "openai:gpt-4o"],
            "params": {"temperature": 0.9},
            "task_overrides": {"validation": {"model": "openai:gpt-4o-mini"}},
        },
        actor="ops",
    )

    assert result.outcome == "created"
    ei = Persona.objects.get(slug="ei")
    assert persona_snapshot(ei) == {
        "slug": "ei",
        "name": "",
        "description": "",
        "modality": "text",
        "system_prompt": "",
        "model": "gemini:gemini-1.5-pro",
        "provider": None,
        "fallbacks": ["openai:o3", "openai:gpt-4o"],
        "params": {"temperature": 0.9},
        "task_overrides": {"validation": {"model": "openai:gpt-4o-mini", "params": {}}},
        "is_enabled": True,
    }
    assert [(f.position, f.model.name) for f in ei.fallbacks.all()] == [(1, "o3"), (2, "gpt-4o")]
    change = PersonaChange.objects.get()
    assert (change.action, change.actor, change.snapshot) == (
        "created",
        "ops",
        persona_snapshot(ei),
    )


def test_applying_a_recorded_snapshot_reverts_the_persona(models):
    persona_apply(
        data={"slug": "ei", "model": "openai:gpt-4o", "fallbacks": ["openai:o3"]}, actor="ops"
    )
    first = PersonaChange.objects.get().snapshot
    persona_apply(
        data={
            "slug": "ei",
            "provider": "gemini",
            "fallbacks": ["openai:gpt-4o-mini", "openai:o3"],
            "params": {"max_tokens": 10},
            "system_prompt": "changed",
        },
        actor="ops",
    )

    result = persona_apply(data=first, actor="ops")

    assert result.outcome == "updated"
    assert persona_snapshot(Persona.objects.get(slug="ei")) == first
    assert [c.action for c in PersonaChange.objects.all()] == ["updated", "updated", "created"]


def test_applying_the_same_data_twice_changes_nothing(models):
    data = {"slug": "scene_smith", "model": "openai:gpt-4o", "params": {"temperature": 0.8}}
    persona_apply(data=data, actor="ops")
    assert persona_apply(data=data, actor="ops").outcome == "unchanged"
    assert PersonaChange.objects.count() == 1


def test_fallbacks_are_replaced_in_the_given_order(models):
    persona_apply(
        data={"slug": "ei", "fallbacks": ["openai:gpt-4o", "openai:o3", "openai:gpt-4o-mini"]},
        actor="",
    )
    persona_apply(
        data={"slug": "ei", "fallbacks": ["openai:gpt-4o-mini", "openai:gpt-4o"]}, actor=""
    )
    ei = Persona.objects.get(slug="ei")
    assert [(f.position, f.model.name) for f in ei.fallbacks.all()] == [
        (1, "gpt-4o-mini"),
        (2, "gpt-4o"),
    ]


def test_naming_a_provider_clears_the_model_and_back(models):
    persona_apply(data={"slug": "ei", "model": "openai:gpt-4o"}, actor="")
    persona_apply(data={"slug": "ei", "provider": "google"}, actor="")
    ei = Persona.objects.get(slug="ei")
    assert (ei.model, ei.provider.name) == (None, "gemini")


def test_modality_is_detected_from_the_slug(models):
    persona_apply(
        data={"slug": "illustrator", "model": "dalle:dall-e-3", "params": {"width": 512}}, actor=""
    )
    assert Persona.objects.get(slug="illustrator").modality == "image"


def test_it_rejects_bad_data_naming_every_field_and_writes_nothing(models):
    with pytest.raises(FieldErrors) as info:
        persona_apply(
            data={
                "slug": "illustrator",
                "model": "openai:gpt-4o",
                "params": {"temperature": 0.5},
                "fallbacks": ["openai:nope"],
                "colour": "red",
            },
            actor="",
        )
    assert [(e.field, e.message) for e in info.value.errors] == [
        (
            "colour",
            "unknown field (expected one of: slug, name, description, modality, system_prompt,"
            " model, "
            "provider, fallbacks, params, task_overrides, is_enabled)",
        ),
        ("model", "openai:gpt-4o is a text model; this persona is image"),
        ("fallbacks[0]", "unknown model 'openai:nope'"),
        (
            "params.temperature",
            "is not a parameter for image (allowed: custom, height, n, negative_prompt, "
            "quality, seed, steps, style, width)",
        ),
    ]
    assert isinstance(info.value.errors[2], UnknownReference)
    assert not Persona.objects.exists()


def test_a_model_and_a_provider_together_are_refused(models):
    with pytest.raises(FieldErrors) as info:
        persona_apply(data={"slug": "ei", "model": "openai:gpt-4o", "provider": "openai"}, actor="")
    assert str(info.value) == "provider: set a model or a provider, not both"


def test_delete_keeps_the_last_configuration_in_the_history(models):
    persona = persona_apply(data={"slug": "ei", "model": "openai:gpt-4o"}, actor="ops").obj
    persona_delete(persona=persona, actor="ops")
    assert not Persona.objects.exists()
    change = PersonaChange.objects.first()
    assert (change.action, change.persona_slug, change.snapshot["model"]) == (
        "deleted",
        "ei",
        "openai:gpt-4o",
    )


def test_scenario_counts_must_add_up_to_the_group_size(models):
    with pytest.raises(FieldErrors) as info:
        scenario_apply(
            data={
                "name": "mixed_5_5",
                "group_size": 10,
                "distribution": {"openai:gpt-4o": 5, "google:gemini-1.5-pro": 4},
            }
        )
    assert (
        str(info.value)
        == "distribution: scenario mixed_5_5 assigns 9 agents, but its group_size is 10"
    )
    assert not Scenario.objects.exists()


def test_a_scenario_without_group_size_takes_the_sum_and_stores_canonical_handles(models):
    result = scenario_apply(
        data={"name": "mixed", "distribution": {"openai:gpt-4o": 5, "google:gemini-1.5-pro": 5}}
    )
    assert result.outcome == "created"
    assert result.obj.group_size == 10 and not result.obj.is_homogeneous
    again = scenario_apply(
        data={"name": "mixed", "distribution": {"openai:gpt-4o": 5, "gemini:gemini-1.5-pro": 5}}
    )
    assert again.outcome == "unchanged"


def test_a_scenario_lists_each_model_once(models):
    with pytest.raises(FieldErrors) as info:
        scenario_apply(
            data={
                "name": "twice",
                "distribution": {"gemini:gemini-1.5-pro": 5, "google:gemini-1.5-pro": 5},
            }
        )
    assert (
        str(info.value)
        == "distribution.google:gemini-1.5-pro: gemini:gemini-1.5-pro is listed twice"
    )


def test_task_override_errors_name_the_task_and_the_field(models):
    with pytest.raises(FieldErrors) as info:
        persona_apply(
            data={
                "slug": "ei",
                "task_overrides": {
                    "validation": {"model": "openai:gpt-4o", "params": {"top_p": 3}, "why": 1},
                    "dreaming": {"model": "openai:gpt-4o"},
                },
            },
            actor="",
        )
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("task_overrides.validation.why", "unknown field (expected one of: model, params)"),
        ("task_overrides.validation.params.top_p", "must be between 0 and 1"),
        ("task_overrides.dreaming", "unknown task 'dreaming'"),
    ]
