"""routing.services: upserts that say what they did, and deletes that refuse with names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from personas.models import Persona, PersonaFallback, PersonaTaskOverride, Scenario, ScenarioModel
from qfweb.crypto import encrypt
from qfweb.errors import Conflict, FieldErrors, UnknownReference
from routing.models import Capability, Default, Model, Provider, Task, TaskFallback
from routing.services import (
    capability_upsert,
    default_set,
    model_delete,
    model_upsert,
    provider_delete,
    provider_upsert,
    task_upsert,
)
from tests.factories import model, provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]


@pytest.fixture
def gpt():
    return model(provider(), "gpt-4o")


def test_it_refuses_to_delete_a_model_in_use_and_names_every_user(gpt):
    task = Task.objects.create(name="response")
    TaskFallback.objects.create(task=task, model=model(gpt.provider, "o3"), position=1)
    TaskFallback.objects.create(task=task, model=gpt, position=2)
    smith = Persona.objects.create(slug="scene_smith", model=gpt)
    ei = Persona.objects.create(slug="ei")
    PersonaFallback.objects.create(persona=ei, model=gpt, position=1)
    PersonaTaskOverride.objects.create(persona=ei, task=task, model=gpt)
    ScenarioModel.objects.create(
        scenario=Scenario.objects.create(name="mixed_5_5", group_size=5), model=gpt, count=5
    )
    Default.objects.create(modality="text", model=gpt)

    with pytest.raises(Conflict) as info:
        model_delete(model=gpt)

    assert str(info.value) == (
        "openai:gpt-4o is used by persona ei (fallback #1), persona ei (for task response), "
        "persona scene_smith, scenario mixed_5_5, task response (fallback #2), the default text"
        " model; "
        "change those first"
    )
    assert info.value.status == 409
    assert Model.objects.filter(pk=gpt.pk).exists() and smith.pk


def test_it_deletes_an_unused_model(gpt):
    model_delete(model=gpt)
    assert not Model.objects.exists()


def test_it_refuses_to_delete_a_provider_whose_models_or_name_are_in_use(gpt):
    Task.objects.create(name="response", primary=gpt)
    Persona.objects.create(slug="codex_curator", provider=gpt.provider)
    with pytest.raises(Conflict) as info:
        provider_delete(provider=gpt.provider)
    assert (
        str(info.value)
        == "openai is used by persona codex_curator, task response; change those first"
    )
    assert Provider.objects.exists()


def test_it_deletes_an_unused_provider_with_its_models(gpt):
    provider_delete(provider=gpt.provider)
    assert not Provider.objects.exists() and not Model.objects.exists()


def test_provider_upsert_says_created_updated_or_unchanged():
    data = {
        "kind": "openai",
        "base_url": "https://8.8.8.8/v1",
        "credential_ref": "${OPENAI_API_KEY}",
    }
    assert provider_upsert(name="openai", data=data).outcome == "created"
    assert provider_upsert(name="openai", data=data).outcome == "unchanged"
    assert provider_upsert(name="openai", data={"timeout_s": 30}).outcome == "updated"
    stored = Provider.objects.get()
    assert (stored.timeout_s, stored.credential_ref) == (30, "${OPENAI_API_KEY}")


def test_provider_upsert_finds_a_provider_by_alias_and_keeps_its_stored_secret():
    token = encrypt("sk-secret-value-0000000000")
    provider(
        "gemini",
        kind="gemini",
        aliases=["google"],
        base_url="https://1.1.1.1",
        credential_encrypted=token,
    )
    result = provider_upsert(
        name="google", data={"timeout_s": 20, "credential_ref": "${GEMINI_API_KEY}"}
    )
    assert result.obj.name == "gemini" and result.outcome == "updated"
    assert Provider.objects.get().credential_encrypted == token


def test_provider_upsert_refuses_an_alias_taken_by_another_provider():
    provider("gemini", kind="gemini", aliases=["google"], base_url="https://1.1.1.1")
    with pytest.raises(FieldErrors) as info:
        provider_upsert(
            name="vertex",
            data={"kind": "gemini", "base_url": "https://1.1.1.1", "aliases": ["google"]},
        )
    assert str(info.value) == "aliases: 'google' is already the name or an alias of gemini"


def test_a_new_provider_needs_a_kind():
    with pytest.raises(FieldErrors) as info:
        provider_upsert(name="acme", data={})
    assert str(info.value).startswith(
        "kind: a new provider needs a kind (one of: openai, anthropic"
    )


def test_model_upsert_checks_types_strictly_and_replaces_capabilities():
    provider()
    for name in ("reasoning", "code", "premium"):
        Capability.objects.create(name=name)
    with pytest.raises(FieldErrors) as info:
        model_upsert(
            provider="openai", name="gpt-4o", data={"context_window": 2.7, "input_price": True}
        )
    assert str(info.value) == "context_window: must be an integer; input_price: must be a number"

    model_upsert(
        provider="openai",
        name="gpt-4o",
        data={"input_price": 2.5, "capabilities": {"reasoning": "strong", "code": "basic"}},
    )
    result = model_upsert(
        provider="openai",
        name="gpt-4o",
        data={"input_price": "2.50", "capabilities": {"premium": "exceptional", "code": None}},
    )

    assert result.outcome == "updated"
    assert result.obj.input_price == Decimal("2.5")
    assert {(c.capability.name, c.strength) for c in result.obj.capabilities.all()} == {
        ("premium", 4),
        ("code", 1),
    }


def test_model_upsert_names_an_unknown_capability_or_strength():
    provider()
    Capability.objects.create(name="reasoning")
    with pytest.raises(FieldErrors) as info:
        model_upsert(
            provider="openai",
            name="gpt-4o",
            data={"capabilities": {"telepathy": "strong", "reasoning": "huge"}},
        )
    assert [(e.field, e.message) for e in info.value.errors] == [
        ("capabilities.telepathy", "unknown capability 'telepathy'"),
        (
            "capabilities.reasoning",
            "unknown strength 'huge'; expected one of none, basic, moderate, strong, exceptional",
        ),
    ]


def test_model_upsert_at_an_unknown_provider_is_an_unknown_reference():
    with pytest.raises(FieldErrors) as info:
        model_upsert(provider="nosuch", name="x", data={})
    error = info.value.errors[0]
    assert isinstance(error, UnknownReference) and (error.field, error.ref) == (
        "provider",
        "provider nosuch",
    )


def test_task_upsert_keeps_fallbacks_in_order_and_checks_requirements(gpt):
    o3, mini = model(gpt.provider, "o3"), model(gpt.provider, "gpt-4o-mini")
    Capability.objects.create(name="reasoning")
    result = task_upsert(
        name="validation",
        data={
            "primary": "openai:gpt-4o",
            "fallbacks": ["openai:o3", "openai:gpt-4o-mini"],
            "requirements": {"reasoning": "moderate"},
            "strategy": "capability",
            "default_params": {"temperature": 0.1},
        },
    )
    assert result.outcome == "created"
    task = Task.objects.get()
    assert [(f.position, f.model) for f in task.fallbacks.all()] == [(1, o3), (2, mini)]
    assert [(r.capability.name, r.min_strength) for r in task.requirements.all()] == [
        ("reasoning", 2)
    ]

    assert (
        task_upsert(
            name="validation", data={"fallbacks": ["openai:o3", "openai:gpt-4o-mini"]}
        ).outcome
        == "unchanged"
    )
    task_upsert(name="validation", data={"fallbacks": ["openai:gpt-4o-mini", "openai:o3"]})
    assert [f.model for f in task.fallbacks.all()] == [mini, o3]


def test_task_upsert_names_the_bad_fallback_and_requirement(gpt):
    with pytest.raises(FieldErrors) as info:
        task_upsert(
            name="validation",
            data={
                "fallbacks": ["openai:gpt-4o", "openai:nope"],
                "requirements": {"telepathy": "strong"},
            },
        )
    assert str(info.value) == (
        "fallbacks[1]: unknown model 'openai:nope'; requirements.telepathy: unknown capability"
        " 'telepathy'"
    )
    assert not Task.objects.exists()


def test_default_set_takes_a_handle_or_a_provider_meaning_its_default_model(gpt):
    gpt.provider.default_model = gpt
    gpt.provider.save()
    assert default_set(modality="text", model="openai").outcome == "created"
    assert default_set(modality="text", model="openai:gpt-4o").outcome == "unchanged"
    with pytest.raises(FieldErrors) as info:
        default_set(modality="image", model="openai:gpt-4o")
    assert str(info.value) == "model: openai:gpt-4o is a text model"


def test_capability_upsert_keeps_what_is_not_given():
    capability_upsert(name="legal", data={"category": "domain", "description": "Law"})
    result = capability_upsert(name="legal", data={"description": "Contracts"})
    assert (result.outcome, result.obj.category, result.obj.description) == (
        "updated",
        "domain",
        "Contracts",
    )


def test_a_model_name_must_fit_in_a_handle():
    provider()
    with pytest.raises(FieldErrors) as info:
        model_upsert(provider="openai", name="gpt 4o", data={})
    assert (
        str(info.value) == "name: must be a model name without spaces (it goes into provider:model)"
    )


def test_it_drops_a_stored_secret_when_an_import_moves_the_provider():
    prov = provider(credential_encrypted=encrypt("sk-bound-to-openai"))
    provider_upsert(name="openai", data={"base_url": "https://elsewhere.example.com/v1"})
    prov.refresh_from_db()
    assert prov.credential_encrypted == ""
