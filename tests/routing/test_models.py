from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from routing.choices import Strength
from routing.models import Default, Model, Provider, Task, TaskFallback
from tests.factories import model, provider

pytestmark = pytest.mark.django_db


def test_handle_is_provider_and_model_name():
    assert model(provider(), "gpt-4o").handle == "openai:gpt-4o"


def test_it_refuses_a_second_model_with_the_same_handle():
    prov = provider()
    model(prov, "gpt-4o")
    with pytest.raises(IntegrityError), transaction.atomic():
        model(prov, "gpt-4o")


def test_the_same_model_name_may_live_at_two_providers():
    model(provider("openai"), "gpt-4o")
    model(provider("openrouter", base_url="https://openrouter.ai/api/v1"), "gpt-4o")
    assert Model.objects.filter(name="gpt-4o").count() == 2


@pytest.mark.parametrize("field", ["input_price", "output_price", "image_price", "char_price"])
def test_the_database_refuses_negative_prices(field):
    prov = provider()
    with pytest.raises(IntegrityError), transaction.atomic():
        model(prov, **{field: Decimal("-0.01")})


def test_prices_may_be_unknown():
    assert model(provider(), input_price=None).input_price is None


def test_strengths_are_ordered():
    assert Strength.NONE < Strength.BASIC < Strength.MODERATE < Strength.STRONG < Strength.EXCEPTIONAL
    assert Strength.parse("Strong") is Strength.STRONG
    assert Strength.parse(4) is Strength.EXCEPTIONAL
    with pytest.raises(ValueError, match="unknown strength 'huge'"):
        Strength.parse("huge")


def test_provider_refuses_a_private_base_url_unless_allowed():
    prov = Provider(name="ollama", kind="ollama", base_url="http://localhost:11434")
    with pytest.raises(ValidationError) as info:
        prov.full_clean()
    assert "private" in info.value.message_dict["base_url"][0]
    prov.allow_private_network = True
    prov.full_clean()


def test_provider_needs_a_base_url_for_a_network_kind():
    with pytest.raises(ValidationError) as info:
        Provider(name="anthropic", kind="anthropic").full_clean()
    assert "needs a base URL" in info.value.message_dict["base_url"][0]


def test_echo_provider_needs_no_base_url():
    Provider(name="echo", kind="echo").full_clean()


@pytest.mark.parametrize("ref", ["sk-live-123", "$OPENAI_API_KEY", "${lower}"])
def test_credential_reference_must_name_an_env_var(ref):
    with pytest.raises(ValidationError) as info:
        Provider(name="openai", kind="openai", base_url="https://api.openai.com/v1", credential_ref=ref).full_clean()
    assert "credential_ref" in info.value.message_dict


def test_provider_aliases_must_be_names():
    with pytest.raises(ValidationError) as info:
        Provider(name="gemini", kind="echo", aliases=["Google AI"]).full_clean()
    assert "aliases" in info.value.message_dict


def test_provider_default_model_must_belong_to_it():
    other = model(provider("anthropic", "anthropic", base_url="https://api.anthropic.com"), "claude")
    prov = provider("openai")
    prov.default_model = other
    with pytest.raises(ValidationError) as info:
        prov.full_clean()
    assert "default_model" in info.value.message_dict


def test_model_modality_must_be_served_by_its_provider_kind():
    with pytest.raises(ValidationError) as info:
        Model(provider=provider(), name="dall-e-3", modality="image").full_clean()
    assert "does not serve image" in info.value.message_dict["modality"][0]


def test_model_default_params_are_validated_for_its_modality():
    with pytest.raises(ValidationError) as info:
        Model(provider=provider(), name="gpt-4o", default_params={"temperature": "hot"}).full_clean()
    assert "temperature: must be a number" in info.value.message_dict["default_params"][0]


def test_deleting_a_model_that_a_task_uses_is_refused():
    gpt = model(provider(), "gpt-4o")
    task = Task.objects.create(name="response")
    TaskFallback.objects.create(task=task, model=gpt, position=1)
    with pytest.raises(ProtectedError) as info:
        gpt.delete()
    assert "task response fallback #1: openai:gpt-4o" in {str(o) for o in info.value.protected_objects}
    assert Model.objects.filter(pk=gpt.pk).exists()


def test_deleting_a_provider_whose_model_is_a_default_is_refused():
    prov = provider()
    Default.objects.create(modality="text", model=model(prov))
    with pytest.raises(ProtectedError):
        prov.delete()
    assert Provider.objects.filter(pk=prov.pk).exists()


def test_task_fallback_positions_are_unique():
    prov = provider()
    task = Task.objects.create(name="response")
    TaskFallback.objects.create(task=task, model=model(prov, "a"), position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFallback.objects.create(task=task, model=model(prov, "b"), position=1)


def test_task_primary_must_match_its_modality():
    task = Task(name="illustrate", modality="image", primary=model(provider()))
    with pytest.raises(ValidationError) as info:
        task.full_clean()
    assert "primary" in info.value.message_dict


def test_default_model_must_match_the_modality():
    with pytest.raises(ValidationError) as info:
        Default(modality="image", model=model(provider())).full_clean()
    assert "is a text model" in info.value.message_dict["model"][0]


def test_a_stored_secret_does_not_follow_a_changed_base_url():
    prov = provider(credential_encrypted="token-for-openai")
    prov = Provider.objects.get(pk=prov.pk)
    prov.base_url = "https://attacker.example.com/v1"
    prov.save()
    prov.refresh_from_db()
    assert prov.credential_encrypted == "" and prov.credential_set_at is None


def test_a_new_secret_given_with_the_new_base_url_is_kept():
    prov = Provider.objects.get(pk=provider(credential_encrypted="old").pk)
    prov.base_url, prov.credential_encrypted = "https://gateway.example.com/v1", "new"
    prov.save()
    prov.refresh_from_db()
    assert prov.credential_encrypted == "new"


def test_other_changes_keep_the_stored_secret():
    prov = Provider.objects.get(pk=provider(credential_encrypted="kept").pk)
    prov.timeout_s = 5
    prov.save(update_fields=["timeout_s"])
    prov.refresh_from_db()
    assert prov.credential_encrypted == "kept"
