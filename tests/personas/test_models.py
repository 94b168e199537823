from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from personas.models import Persona, PersonaFallback, Scenario, ScenarioModel
from routing.models import Model
from tests.factories import model, provider

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("slug", "modality"),
    [
        ("illustrator", "image"),
        ("art_director", "image"),
        ("audio_director", "audio"),
        ("audio_producer", "audio"),
        ("scene_smith", "text"),
        ("ei", "text"),
    ],
)
def test_modality_is_detected_from_the_name_when_not_given(slug, modality):
    assert Persona.objects.create(slug=slug).modality == modality


def test_a_given_modality_wins_over_the_name():
    assert Persona.objects.create(slug="illustrator", modality="text").modality == "text"


def test_modality_map_is_a_setting(settings):
    settings.QF_MODALITY_BY_NAME = {"narrator": "audio"}
    assert Persona.objects.create(slug="narrator").modality == "audio"


def test_a_persona_names_a_model_or_a_provider_not_both():
    prov = provider()
    with pytest.raises(IntegrityError), transaction.atomic():
        Persona.objects.create(slug="ei", model=model(prov), provider=prov)


def test_persona_params_are_validated_per_modality():
    with pytest.raises(ValidationError) as info:
        Persona(slug="illustrator", params={"temperature": 0.3}).full_clean()
    assert "temperature: is not a parameter for image" in info.value.message_dict["params"][0]
    Persona(slug="illustrator", params={"width": 1024, "height": 1024}).full_clean()


def test_persona_model_must_match_its_modality():
    with pytest.raises(ValidationError) as info:
        Persona(slug="illustrator", model=model(provider())).full_clean()
    assert "this persona is image" in info.value.message_dict["model"][0]


def test_deleting_a_model_a_persona_falls_back_to_is_refused():
    gpt = model(provider())
    persona = Persona.objects.create(slug="scene_smith")
    PersonaFallback.objects.create(persona=persona, model=gpt, position=1)
    with pytest.raises(ProtectedError) as info:
        gpt.delete()
    assert "persona scene_smith fallback #1: openai:gpt-4o" in {str(o) for o in info.value.protected_objects}
    assert Model.objects.filter(pk=gpt.pk).exists()


def test_deleting_a_provider_a_persona_names_is_refused():
    prov = provider()
    Persona.objects.create(slug="scene_smith", provider=prov)
    with pytest.raises(ProtectedError):
        prov.delete()


def test_scenario_counts_are_positive_and_models_unique():
    prov = provider()
    scenario = Scenario.objects.create(name="mixed_5_5", group_size=10)
    gpt = model(prov)
    ScenarioModel.objects.create(scenario=scenario, model=gpt, count=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScenarioModel.objects.create(scenario=scenario, model=gpt, count=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScenarioModel.objects.create(scenario=scenario, model=model(prov, "claude"), count=0)
    assert scenario.is_homogeneous
