"""`manage.py qf demo`: the demo configuration and a first superuser, idempotently."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from personas.models import Persona, PersonaChange, Scenario
from routing.models import Capability, Default, Model, Provider, Task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]
ROLES = {
    "scene_smith": "text",
    "gatekeeper": "text",
    "lore_weaver": "text",
    "translator": "text",
    "codex_curator": "text",
    "illustrator": "image",
    "audio_director": "audio",
}
PERSONAS = {"ei": "text", "mike": "text", "lena": "text", "beta": "text"}


def demo() -> str:
    out = StringIO()
    call_command("qf", "demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "providers": Provider.objects.count(),
        "models": Model.objects.count(),
        "capabilities": Capability.objects.count(),
        "tasks": Task.objects.count(),
        "defaults": Default.objects.count(),
        "personas": Persona.objects.count(),
        "scenarios": Scenario.objects.count(),
        "changes": PersonaChange.objects.count(),
    }


def test_it_loads_on_an_empty_store_and_a_second_run_changes_nothing(monkeypatch):
    monkeypatch.delenv("QF_DEMO_ADMIN_PASSWORD", raising=False)
    first = demo()
    loaded = counts()
    second = demo()

    expected = {
        "providers": 10,
        "models": 25,
        "capabilities": 12,
        "tasks": 5,
        "defaults": 3,
        "personas": 11,
        "scenarios": 2,
        "changes": 11,
    }
    assert loaded == counts() == expected
    assert "  total         68 created, 0 updated, 0 unchanged" in first
    assert "  total         0 created, 0 updated, 68 unchanged" in second
    assert "admin password:" in first and "admin password:" not in second
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_it_has_the_roles_and_personas_with_their_modalities():
    demo()
    found = {p.slug: p.modality for p in Persona.objects.all()}
    assert found == {**ROLES, **PERSONAS}
    assert Persona.objects.get(slug="illustrator").model.modality == "image"
    assert Persona.objects.get(slug="audio_director").provider.name == "elevenlabs"
    assert Persona.objects.get(slug="mike").model.handle == "ollama:google/gemma-3-12b"


def test_echo_is_the_default_for_every_modality_and_matches_the_builtin_handles():
    demo()
    defaults = {d.modality: d.model.handle for d in Default.objects.all()}
    assert defaults == settings.QF_BUILTIN_MODELS
    echo = Provider.objects.get(name="echo")
    assert (echo.kind, echo.base_url, echo.has_credential) == ("echo", "", False)


def test_handles_of_source_document_003_find_their_providers():
    demo()
    aliases = {p.name: p.aliases for p in Provider.objects.exclude(aliases=[])}
    assert aliases == {"gemini": ["google"], "xai": ["x"], "ollama": ["local"]}
    ollama = Provider.objects.get(name="ollama")
    assert (ollama.base_url, ollama.allow_private_network) == ("http://localhost:11434", True)


def test_it_stores_credentials_as_references_only():
    demo()
    refs = {p.name: p.credential_ref for p in Provider.objects.all() if p.credential_ref}
    assert refs["openai"] == "${OPENAI_API_KEY}" and refs["openrouter"] == "${OPENROUTER_API_KEY}"
    assert not Provider.objects.exclude(credential_encrypted="").exists()


def test_tasks_carry_their_capability_requirements():
    demo()
    needs = {
        (r.task.name, r.capability.name, r.min_strength)
        for r in Task.objects.get(name="validation").requirements.all()
    }
    assert needs == {("validation", "reasoning", 2), ("validation", "inexpensive", 3)}
    concept = Task.objects.get(name="concept_update").requirements.get()
    assert (concept.capability.name, concept.min_strength) == ("structured_output", 3)


def test_it_creates_the_admin_from_the_environment(monkeypatch):
    monkeypatch.setenv("QF_DEMO_ADMIN_USER", "root")
    monkeypatch.setenv("QF_DEMO_ADMIN_PASSWORD", "a-long-demo-password")
    output = demo()
    user = get_user_model().objects.get(username="root")
    assert user.is_superuser and user.check_password("a-long-demo-password")
    assert "Created superuser root" in output and "a-long-demo-password" not in output


def test_it_creates_no_admin_when_a_superuser_exists(admin_user):
    output = demo()
    assert "Created superuser" not in output
    assert get_user_model().objects.count() == 1
