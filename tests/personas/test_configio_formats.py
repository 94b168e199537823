"""What each source document's format becomes in the store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from personas.configio import import_text
from personas.models import Persona, Scenario
from routing.models import Capability, Default, Model, ModelCapability, Provider, Task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]
TRUSTED = {"allow_unset_env": True, "trust_private_urls": True}

ROLES = """\
providers:
  text:
    default: openai
    openai: {api_key: "${OPENAI_API_KEY}", model: gpt-4o}
    ollama: {base_url: "http://localhost:11434", model: llama3}
  image:
    dalle: {api_key: "${OPENAI_API_KEY}", model: dall-e-3}
roles:
  scene_smith: {provider: openai, model: gpt-4o, temperature: 0.8, max_tokens: 3000}
  gatekeeper: {provider: ollama, temperature: 0.2}
  critic: {model: gpt-4o-mini}
  illustrator: {provider: dalle, model: dall-e-3, width: 1024, height: 1024}
  audio_director:
    {provider: elevenlabs, base_url: "https://api.elevenlabs.io", voice: nova, language: en}
"""


def test_per_role_yaml_makes_providers_models_defaults_and_personas():
    report = import_text(ROLES, source="roles.yaml", **TRUSTED)

    openai = Provider.objects.get(name="openai")
    assert (openai.kind, openai.credential_ref, openai.default_model.name) == (
        "openai",
        "${OPENAI_API_KEY}",
        "gpt-4o",
    )
    ollama = Provider.objects.get(name="ollama")
    assert ollama.allow_private_network and ollama.aliases == ["local"]
    assert Provider.objects.get(name="dalle").kind == "openai_images"
    assert Default.objects.get(modality="text").model.handle == "openai:gpt-4o"

    smith = Persona.objects.get(slug="scene_smith")
    assert (smith.model.handle, smith.modality, smith.params) == (
        "openai:gpt-4o",
        "text",
        {"temperature": 0.8, "max_tokens": 3000},
    )
    gatekeeper = Persona.objects.get(slug="gatekeeper")
    assert (gatekeeper.model, gatekeeper.provider.name) == (
        None,
        "ollama",
    )  # the provider's default model
    assert (
        Persona.objects.get(slug="critic").model.handle == "openai:gpt-4o-mini"
    )  # the default provider
    illustrator = Persona.objects.get(slug="illustrator")
    assert (illustrator.modality, illustrator.model.handle, illustrator.model.modality) == (
        "image",
        "dalle:dall-e-3",
        "image",
    )
    audio = Persona.objects.get(slug="audio_director")
    assert (audio.modality, audio.provider.name, audio.params) == (
        "audio",
        "elevenlabs",
        {"voice": "nova", "language": "en"},
    )
    assert Provider.objects.get(name="elevenlabs").kind == "elevenlabs"
    assert any("http://localhost:11434 is on a private network" in n for n in report.notices)


def test_a_role_file_may_name_providers_by_alias(demo):
    import_text(
        "roles:\n  scholar: {provider: google, model: gemini-1.5-flash}\n",
        source="r.yaml",
        **TRUSTED,
    )
    assert Persona.objects.get(slug="scholar").model.handle == "gemini:gemini-1.5-flash"
    assert not Provider.objects.filter(name="google").exists()


REGISTRY = """\
{
  "models": [
    {"id": "smart", "provider": "openai", "modelName": "gpt-4o",
     "maxTokens": 4000, "temperature": 0.7,
     "contextWindow": 128000, "costPer1kTokens": 0.005, "capabilities": ["reasoning", "chat"]},
    {"id": "gpt-4o-mini", "provider": "openai", "modelName": "gpt-4o-mini",
     "costPer1kTokens": 0.00015},
    {"id": "gem", "provider": "google", "modelName": "gemini-1.5-flash"}
  ],
  "taskMappings": [
    {"taskName": "clustering", "primaryModelId": "smart",
     "fallbackModelIds": ["gem", "gpt-4o-mini"],
     "description": "Cluster personas"}
  ],
  "defaultModelId": "gpt-4o-mini"
}
"""


def test_model_registry_json_makes_models_tasks_and_the_text_default():
    import_text(REGISTRY, source="modelRegistry.json", **TRUSTED)

    smart = Model.objects.get(provider__name="openai", name="gpt-4o")
    assert smart.display_name == "smart"
    assert (smart.input_price, smart.output_price) == (Decimal("5"), Decimal("5"))
    assert Model.objects.get(name="gpt-4o-mini").input_price == Decimal("0.15")
    assert (smart.default_params, smart.context_window) == (
        {"max_tokens": 4000, "temperature": 0.7},
        128000,
    )
    assert {(mc.capability.name, mc.strength) for mc in smart.capabilities.all()} == {
        ("reasoning", 2),
        ("chat", 2),
    }
    task = Task.objects.get(name="clustering")
    assert task.primary == smart and task.description == "Cluster personas"
    assert [f.model.handle for f in task.fallbacks.all()] == [
        "gemini:gemini-1.5-flash",
        "openai:gpt-4o-mini",
    ]
    assert [f.position for f in task.fallbacks.all()] == [1, 2]
    assert Default.objects.get(modality="text").model.handle == "openai:gpt-4o-mini"
    gemini = Provider.objects.get(name="gemini")  # "google" is created under its usual name
    assert gemini.aliases == ["google"] and gemini.kind == "gemini"


def test_model_registry_keeps_a_capability_strength_already_stored(demo):
    import_text(REGISTRY, source="modelRegistry.json", **TRUSTED)
    gpt = Model.objects.get(provider__name="openai", name="gpt-4o")
    assert (
        ModelCapability.objects.get(model=gpt, capability__name="reasoning").strength == 3
    )  # strong, from the demo
    assert ModelCapability.objects.get(model=gpt, capability__name="chat").strength == 2
    assert Capability.objects.get(name="chat").category == "task"


MULTI = """\
ENABLE_MULTI_MODEL: true
NUM_AGENTS: 10
NUM_ROUNDS: 5
model_configs:
  openai/gpt-4:
    model_type: openai/gpt-4
    api_key_env: OPENROUTER_API_KEY
    max_tokens: 1000
    temperature: 0.7
    rate_limit: 60
    retry_delay: 1.5
  google/gemini-pro:
    api_key_env: GOOGLE_OR_KEY
    custom_params: {top_k: 40}
scenarios:
  - name: homogeneous_gpt4
    model_distribution: {openai/gpt-4: 10}
  - name: mixed_pair
    num_agents: 4
    model_distribution: {openai/gpt-4: 2, google/gemini-pro: 2}
"""


def test_multi_model_yaml_makes_openrouter_models_and_scenarios():
    report = import_text(MULTI, source="multi.yaml", **TRUSTED)

    openrouter = Provider.objects.get(name="openrouter")
    assert (openrouter.kind, openrouter.base_url, openrouter.credential_ref) == (
        "openai",
        "https://openrouter.ai/api/v1",
        "${OPENROUTER_API_KEY}",
    )
    gpt4 = Model.objects.get(provider=openrouter, name="openai/gpt-4")
    assert gpt4.default_params == {"max_tokens": 1000, "temperature": 0.7}
    assert (gpt4.rate_limit_rpm, gpt4.retry_delay_s, gpt4.credential_ref) == (60, 1.5, "")
    gemini = Model.objects.get(provider=openrouter, name="google/gemini-pro")
    assert gemini.credential_ref == "${GOOGLE_OR_KEY}" and gemini.default_params == {
        "custom": {"top_k": 40}
    }
    homogeneous = Scenario.objects.get(name="homogeneous_gpt4")
    assert homogeneous.group_size == 10 and homogeneous.is_homogeneous
    mixed = Scenario.objects.get(name="mixed_pair")
    assert mixed.group_size == 4
    assert sorted((r.model.name, r.count) for r in mixed.distribution.all()) == [
        ("google/gemini-pro", 2),
        ("openai/gpt-4", 2),
    ]
    assert (
        "ENABLE_MULTI_MODEL: not stored; qfweb's switch is the QF_MULTI_MODEL setting (now on)"
        in report.notices
    )
    assert "NUM_ROUNDS: not a model setting; ignored" in report.notices


def test_persona_file_is_named_by_its_first_alias_and_may_use_provider_aliases(demo):
    text = (
        "// comments are allowed\n"
        '{"entity": "system", "aliases": ["Sage", "mentor"],'
        ' "model": "x:grok-2-mini", "concepts": []}'
    )
    report = import_text(text, source="system.jsonc", **TRUSTED)

    sage = Persona.objects.get(slug="sage")
    assert (sage.model.handle, sage.modality, sage.provider) == ("xai:grok-2-mini", "text", None)
    assert report.notices == ["not configuration, left alone: entity, concepts"]


def test_persona_file_name_key_wins_over_aliases(demo):
    import_text(
        '{"name": "Ei", "aliases": ["friend"], "model": "google:gemini-1.5-flash"}',
        source="s.jsonc",
        fmt="persona",
    )
    ei = Persona.objects.get(slug="ei")
    assert (ei.name, ei.model.handle) == ("Ei", "gemini:gemini-1.5-flash")
    assert ei.system_prompt.startswith("You are Ei")  # what the file does not say is kept


def test_a_dry_run_reports_what_would_change_and_writes_nothing(store_snapshot):
    before = store_snapshot()
    report = import_text(ROLES, source="roles.yaml", dry_run=True, **TRUSTED)
    assert report.render().startswith(
        "Dry run, nothing written; would import roles.yaml (per-role YAML):"
    )
    assert report.counts()["personas"]["created"] == 5
    assert store_snapshot() == before


def test_native_defaults_may_name_a_provider_meaning_its_default_model(demo):
    import_text("qfweb: 1\ndefaults: {text: anthropic}\n", source="d.yaml")
    assert Default.objects.get(modality="text").model.handle == "anthropic:claude-3-5-sonnet-latest"
