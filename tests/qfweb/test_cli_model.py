"""`manage.py qf model show|set|clear|list`, end to end through the command dispatcher, on
the demo configuration (personas/demo.yaml)."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personas.models import Persona, PersonaChange
from personas.profiles import profile_get
from routing.models import Model, Provider
from routing.resolution import resolve_live

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo")]


def qf(*args: str) -> str:
    out = StringIO()
    call_command("qf", "model", *args, stdout=out)
    return out.getvalue()


def line(pattern: str, output: str) -> None:
    """`pattern` (words separated by column gaps) matches one whole line of `output`."""
    regex = r"\s+".join(re.escape(word) for word in pattern.split("  "))
    assert re.search(rf"^{regex}$", output, re.M), f"no line {pattern!r} in:\n{output}"


def cli_changes(slug: str) -> list[PersonaChange]:
    return list(PersonaChange.objects.filter(persona_slug=slug, actor="cli"))


# ---- show -----------------------------------------------------------------------------


def test_show_prints_the_chain_with_levels_then_the_drops_with_reasons():
    output = qf("show", "illustrator", "--task", "response")

    assert output.startswith(
        "Persona illustrator (image); task response; modality text; strategy failover\nChain:\n"
    )
    line("  1.  openai:gpt-4o  task  task response", output)
    line("  2.  anthropic:claude-3-5-sonnet-latest  task_fallback  task response fallback #1",
         output)
    line("  3.  echo:echo  global_default  stored default for text", output)
    assert "  4." not in output
    # The persona's image models cannot answer a text task.
    line("  dalle:dall-e-3  persona  wrong_modality"
         "  dalle:dall-e-3 is image; the request is text  (persona illustrator)", output)
    line("  a1111:sd_xl_base_1.0  persona_fallback  wrong_modality"
         "  a1111:sd_xl_base_1.0 is image; the request is text"
         "  (persona illustrator fallback #1)", output)
    line("  gemini:gemini-1.5-pro  task_fallback  below_capability"
         "  creative is none, needs moderate  (task response fallback #2)", output)
    assert output.index("Chain:") < output.index("Dropped:") < output.index("dalle:dall-e-3")
    assert "Notes:" not in output


def test_show_passes_overrides_and_tokens_and_prints_notes():
    output = qf(
        "show", "ei", "--task", "nosuch",
        "--override", "google", "x:grok-2",  # an alias (its default model), an alias handle
        "--tokens", "150000",
    )

    line("  1.  gemini:gemini-1.5-pro  override  request override #1", output)
    line("  x:grok-2  override  context_too_small"
         "  context window 131072 < 150000 tokens  (request override #2)", output)
    line("  openai:gpt-4o  persona_fallback  context_too_small"
         "  context window 128000 < 150000 tokens  (persona ei fallback #1)", output)
    assert output.endswith(
        "Notes:\n  - task nosuch is not stored; its environment model still applies\n"
    )


def test_show_json_is_the_resolution_explanation():
    output = qf("show", "illustrator", "--task", "response", "--json")

    expected = resolve_live(persona=profile_get("illustrator"), task="response").as_dict()
    assert json.loads(output) == expected
    assert expected["dropped"][0]["reason"] == "wrong_modality"


def test_show_an_unknown_persona_exits_1():
    with pytest.raises(CommandError) as info:
        qf("show", "nobody")
    assert str(info.value) == "unknown persona 'nobody'"
    assert info.value.returncode == 1


def test_show_refuses_a_negative_token_count():
    with pytest.raises(CommandError, match="--tokens: must be a whole number of tokens, not '-3'"):
        qf("show", "ei", "--tokens", "-3")


# ---- set ------------------------------------------------------------------------------


def test_set_a_model_then_show_reflects_it_and_history_records_it():
    # `google` is gemini's alias: the model is stored by the provider's name.
    output = qf("set", "scene_smith", "google:gemini-1.5-flash")

    assert output == (
        "Persona scene_smith: set model gemini:gemini-1.5-flash\n"
        "Now served by: gemini:gemini-1.5-flash (persona: persona scene_smith)\n"
    )
    persona = Persona.objects.get(slug="scene_smith")
    assert persona.model.handle == "gemini:gemini-1.5-flash"
    assert persona.provider is None
    [change] = cli_changes("scene_smith")
    assert change.action == "updated"
    assert change.snapshot["model"] == "gemini:gemini-1.5-flash"

    shown = qf("show", "scene_smith")
    line("  1.  gemini:gemini-1.5-flash  persona  persona scene_smith", shown)
    line("  2.  anthropic:claude-3-5-sonnet-latest  persona_fallback"
         "  persona scene_smith fallback #1", shown)
    assert "openai:gpt-4o" not in shown


def test_set_a_provider_means_its_default_model_and_replaces_the_model():
    output = qf("set", "lena", "x")

    assert output == (
        "Persona lena: set provider xai (its default model)\n"
        "Now served by: xai:grok-2 (persona: persona lena)\n"
    )
    persona = Persona.objects.get(slug="lena")
    assert (persona.model, persona.provider.name) == (None, "xai")
    assert cli_changes("lena")[0].snapshot["provider"] == "xai"


def test_setting_the_same_model_again_changes_nothing():
    output = qf("set", "scene_smith", "openai:gpt-4o")
    assert output.startswith(
        "Persona scene_smith already has model openai:gpt-4o; nothing changed\n"
    )
    assert cli_changes("scene_smith") == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("dalle:dall-e-9", "model: unknown model 'dalle:dall-e-9'"),
        ("nosuch:model", "model: unknown provider 'nosuch'"),
        ("openai:gpt-4o", "model: openai:gpt-4o is a text model; this persona is image"),
        ("openai", "provider: openai (openai) does not serve image"),
        ("nosuch", "provider: unknown provider 'nosuch'"),
        ("dalle:", "model: 'dalle:' is not a provider:model handle"),
        ("Dall E:x", "model: 'Dall E' is not a valid provider name"),
        ("dalle:dall e", "model: model name 'dall e' contains white space"),
    ],
)
def test_set_refuses_a_bad_value_with_one_line_and_changes_nothing(value, message, store_snapshot):
    before = store_snapshot()
    with pytest.raises(CommandError) as info:
        qf("set", "illustrator", value)
    assert str(info.value) == message
    assert info.value.returncode == 1
    assert store_snapshot() == before
    assert cli_changes("illustrator") == []


def test_set_for_an_unknown_persona_creates_none():
    with pytest.raises(CommandError, match=r"^unknown persona 'nobody'$"):
        qf("set", "nobody", "openai:gpt-4o")
    assert not Persona.objects.filter(slug="nobody").exists()


def test_set_warns_when_the_chosen_model_does_not_serve():
    mini = Model.objects.get(provider__name="openai", name="gpt-4o-mini")
    mini.is_enabled = False
    mini.save()

    output = qf("set", "scene_smith", "openai:gpt-4o-mini")

    assert output == (
        "Persona scene_smith: set model openai:gpt-4o-mini\n"
        "Now served by: anthropic:claude-3-5-sonnet-latest"
        " (persona_fallback: persona scene_smith fallback #1)\n"
        "warning: openai:gpt-4o-mini does not serve: disabled, openai:gpt-4o-mini is disabled\n"
    )


# ---- clear ----------------------------------------------------------------------------


def test_clear_removes_the_model_and_the_fallbacks_and_defaults_serve():
    output = qf("clear", "scene_smith")

    assert output == (
        "Persona scene_smith: cleared model openai:gpt-4o\n"
        "Now served by: anthropic:claude-3-5-sonnet-latest"
        " (persona_fallback: persona scene_smith fallback #1)\n"
    )
    persona = Persona.objects.get(slug="scene_smith")
    assert (persona.model, persona.provider) == (None, None)
    assert cli_changes("scene_smith")[0].snapshot["model"] is None


def test_clear_removes_a_provider_and_is_idempotent():
    assert qf("clear", "codex_curator") == (
        "Persona codex_curator: cleared provider gemini\n"
        "Now served by: echo:echo (global_default: stored default for text)\n"
    )
    assert Persona.objects.get(slug="codex_curator").provider is None
    assert qf("clear", "codex_curator").startswith(
        "Persona codex_curator has no model or provider of its own; nothing changed\n"
    )
    assert len(cli_changes("codex_curator")) == 1


def test_clear_an_unknown_persona_exits_1():
    with pytest.raises(CommandError, match=r"^unknown persona 'nobody'$"):
        qf("clear", "nobody")


# ---- list -----------------------------------------------------------------------------


def test_list_shows_every_provider_with_its_models_and_prices():
    openai = Provider.objects.get(name="openai")
    openai.health_state, openai.health_latency_ms = "degraded", 420
    openai.save()
    o3 = Model.objects.get(provider=openai, name="o3-mini")
    o3.is_enabled = False
    o3.save()

    output = qf("list")

    providers = list(Provider.objects.values_list("name", flat=True))
    assert len(providers) == 10
    for name in providers:
        assert re.search(rf"^{re.escape(name)} ", output, re.M), name
    line("PROVIDER  KIND  ENABLED  HEALTH  LATENCY  DEFAULT MODEL  ALIASES", output)
    line("  MODEL  MODALITY  CONTEXT  IN/1M  OUT/1M  IMAGE  1K CHARS  ENABLED", output)
    line("openai  openai  yes  degraded  420 ms  openai:gpt-4o  -", output)
    line("gemini  gemini  yes  unknown  -  gemini:gemini-1.5-pro  google", output)
    line("  openai:gpt-4o  text  128000  2.5  10  -  -  yes", output)
    line("  openai:o3-mini  text  200000  1.1  4.4  -  -  no", output)
    line("  gemini:gemini-1.5-flash  text  1048576  0.075  0.3  -  -  yes", output)
    line("  dalle:dall-e-3  image  -  -  -  0.04  -  yes", output)
    line("  elevenlabs:eleven_turbo_v2_5  audio  -  -  -  -  0.15  yes", output)
    # Models are listed under their own provider.
    where = output.index
    assert where("\nopenai ") < where("  openai:gpt-4o ") < where("\nopenrouter ")
    assert len(re.findall(r"^  echo:", output, re.M)) == 3


def test_list_filters_by_modality():
    output = qf("list", "--modality", "image")

    for handle in ("dalle:dall-e-2", "dalle:dall-e-3", "a1111:sd_xl_base_1.0", "echo:echo-image"):
        assert f"  {handle} " in output
    assert "echo:echo-speech" not in output
    assert not re.search(r"^  echo:echo\s", output, re.M)
    # Providers with nothing of that modality are left out.
    assert not re.search(r"^(openai|anthropic|elevenlabs) ", output, re.M)
    assert re.search(r"^echo ", output, re.M)


def test_list_filters_by_provider_name_or_alias():
    output = qf("list", "--provider", "local")
    assert re.findall(r"^\S+", output, re.M) == ["PROVIDER", "ollama"]
    line("  ollama:google/gemma-3-12b  text  131072  0  0  -  -  yes", output)

    with pytest.raises(CommandError, match=r"^unknown provider 'nosuch'$"):
        qf("list", "--provider", "nosuch")
