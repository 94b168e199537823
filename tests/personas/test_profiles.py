"""Persona profiles: the plain data routing resolves with, built in three queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personas.profiles import profile_get, profiles_build
from personas.services import persona_apply
from qfweb.errors import NotFound

pytestmark = pytest.mark.django_db


def test_a_profile_carries_the_whole_persona(demo):
    gatekeeper = profile_get("gatekeeper")
    assert (gatekeeper.model, gatekeeper.provider, gatekeeper.fallbacks) == ("ollama:llama3", None, ())
    assert dict(gatekeeper.task_overrides) == {"validation": "openai:gpt-4o-mini"}
    assert dict(gatekeeper.task_params["validation"]) == {"temperature": 0}
    assert dict(gatekeeper.params) == {"temperature": 0.2, "max_tokens": 1000}
    assert gatekeeper.system_prompt.startswith("You are the Gatekeeper.")
    curator = profile_get("codex_curator")
    assert (curator.model, curator.provider) == (None, "gemini")
    assert profile_get("illustrator").modality == "image"


def test_fallbacks_keep_their_order(demo):
    persona_apply(data={"slug": "mike", "fallbacks": ["openai:gpt-4o", "openai:gpt-4o-mini", "gemini:gemini-1.5-pro"]})
    assert profile_get("mike").fallbacks == ("openai:gpt-4o", "openai:gpt-4o-mini", "gemini:gemini-1.5-pro")


def test_building_takes_three_queries_whatever_the_number_of_personas(demo):
    with CaptureQueriesContext(connection) as queries:
        profiles = profiles_build()
    assert len(queries) == 3 and len(profiles) == 11
    for i in range(20):
        persona_apply(data={"slug": f"extra{i}", "model": "openai:gpt-4o", "fallbacks": ["ollama:llama3"]})
    with CaptureQueriesContext(connection) as queries:
        assert len(profiles_build()) == 31
    assert len(queries) == 3


def test_an_unknown_persona_is_not_found(demo):
    with pytest.raises(NotFound, match="unknown persona 'nobody'"):
        profile_get("nobody")


def test_profiles_are_read_only(demo):
    with pytest.raises(TypeError):
        profile_get("ei").task_overrides["x"] = "openai:gpt-4o"  # type: ignore[index]
