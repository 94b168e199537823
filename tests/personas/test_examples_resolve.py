"""The files under examples/, imported, resolve the way their source documents say."""

from __future__ import annotations

import pytest

from personas.profiles import profile_get
from qfweb.errors import NotFound
from routing.config import PersonaProfile
from routing.resolution import resolve_live
from tests.personas.test_configio_roundtrip import EXAMPLES_DIR, load_example

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]


def chain(persona: str | None = None, task: str | None = None, **request) -> list[str]:
    profile = None
    if persona is not None:
        try:
            profile = profile_get(persona)
        except NotFound:
            profile = PersonaProfile(persona)
    return [f"{e.level} {e.handle}" for e in resolve_live(persona=profile, task=task, **request).chain]


def test_000_cost_optimized_roles_and_the_default_provider():
    load_example(EXAMPLES_DIR / "roles_cost_optimized.yaml")
    assert chain("scene_smith")[0] == "persona openai:gpt-4o"
    assert chain("gatekeeper")[0] == "persona ollama:llama3"
    assert chain("translator")[0] == "persona ollama:llama3"
    # An unconfigured role falls back to the default provider's model (lookup order: role > default).
    assert chain("newcomer")[0] == "global_default openai:gpt-4o"
    # A runtime override comes before the role (runtime > role).
    assert chain("gatekeeper", override=("openai",))[:2] == ["override openai:gpt-4o", "persona ollama:llama3"]


def test_000_specialty_roles_name_a_provider_and_get_its_model():
    load_example(EXAMPLES_DIR / "roles_specialty.yaml")
    assert chain("scene_smith")[0] == "persona anthropic:claude-3-opus"
    assert chain("translator")[0] == "persona openai:gpt-4o"
    assert chain("codex_curator")[0] == "persona gemini:gemini-1.5-pro"


def test_000_local_roles_and_an_image_role():
    load_example(EXAMPLES_DIR / "roles_local.yaml")
    assert chain("scene_smith") == ["persona ollama:llama2"]  # also the default; no echo here
    # The document names the a1111 provider and no model: the explanation says what is missing.
    illustrator = resolve_live(persona=profile_get("illustrator"))
    assert illustrator.modality == "image" and illustrator.chain == ()
    assert [(d.reference, d.reason, d.detail) for d in illustrator.dropped][0] == (
        "a1111", "no_default_model", "provider a1111 has no default model"
    )


def test_003_persona_file_by_provider_alias_then_the_defaults():
    load_example(EXAMPLES_DIR / "persona_sage.jsonc")  # loads the demo first: `local` is ollama's alias
    steps = chain("sage", "response")
    assert steps[0] == "persona ollama:google/gemma-3-12b"
    assert steps[-1] == "global_default echo:echo"


def test_004_task_mappings_primary_then_fallbacks_then_the_default_model():
    load_example(EXAMPLES_DIR / "model_registry.json")
    assert chain(task="clustering") == [
        "task openai:gpt-4o",
        "task_fallback anthropic:claude-3-5-haiku-latest",
        "task_fallback openai:gpt-4o-mini",
    ]
    assert chain(task="persona_generation") == [
        "task openai:gpt-4o-mini",
        "task_fallback anthropic:claude-3-5-haiku-latest",
    ]
    assert chain(task="unmapped") == ["global_default openai:gpt-4o-mini"]


@pytest.mark.parametrize("name", [
    "multi_model_homogeneous_gpt4.yaml", "multi_model_mixed_5_5.yaml", "multi_model_diverse_3_3_4.yaml",
])
def test_001_every_scenario_model_serves_and_the_switch_sends_all_to_the_default(name, settings):
    from personas.models import ScenarioModel

    load_example(EXAMPLES_DIR / name)
    handles = [sm.model.handle for sm in ScenarioModel.objects.select_related("model__provider")]
    assert handles
    for handle in handles:
        assert chain(override=(handle,))[0] == f"override {handle}"
    settings.QF_MULTI_MODEL = False
    switched_off = resolve_live(override=(handles[0],))
    assert switched_off.handles == resolve_live().handles  # only the defaults
    assert [(d.reference, str(d.reason)) for d in switched_off.dropped][0] == (handles[0], "multi_model_off")


def test_the_qfweb_document_persona_task_override_comes_first():
    load_example(EXAMPLES_DIR / "qfweb_team.yaml")
    r = resolve_live(persona=profile_get("reviewer"), task="review")
    assert [f"{e.level} {e.handle}" for e in r.chain] == [
        "persona_task anthropic:claude-3-5-haiku-latest",
        "persona anthropic:claude-3-5-sonnet-latest",
    ]
    # The built-in echo model is not in this document's catalogue: explained, not served.
    assert ("echo:echo", "unknown") in {(d.reference, str(d.reason)) for d in r.dropped}
