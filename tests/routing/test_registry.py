"""routing.registry: capability queries over a hand-built snapshot. No database."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from routing.config import ConfigSnapshot, ModelInfo, ProviderInfo, TaskInfo
from routing.detect import TASK_TYPE_REQUIREMENTS
from routing.registry import (
    UnknownName,
    model_capabilities,
    model_provider,
    models_with_capabilities,
    models_with_capability,
    provider_models,
    task_requirements,
)

NONE, BASIC, MODERATE, STRONG, EXCEPTIONAL = range(5)


def make_snapshot() -> ConfigSnapshot:
    """Three providers (gemini with the alias google), models inserted out of handle order,
    one disabled, one with a colon in its name, and a listed capability no model has."""
    models = [
        ModelInfo("openai", "gpt-4o-mini", capabilities={"inexpensive": STRONG, "code": MODERATE}),
        ModelInfo("openai", "gpt-4o", capabilities=MappingProxyType(
            {"reasoning": STRONG, "code": STRONG, "premium": STRONG})),
        ModelInfo("openai", "o3-mini", capabilities={"reasoning": EXCEPTIONAL, "code": STRONG}),
        ModelInfo("gemini", "gemini-1.5-pro", is_enabled=False,
                  capabilities={"reasoning": STRONG, "long_context": EXCEPTIONAL}),
        ModelInfo("gemini", "gemini-1.5-flash",
                  capabilities={"inexpensive": EXCEPTIONAL, "code": BASIC, "reasoning": NONE}),
        ModelInfo("ollama", "llama3:8b", capabilities={"inexpensive": EXCEPTIONAL}),
        ModelInfo("ollama", "llama2"),
    ]
    providers = [
        ProviderInfo("openai", "openai", default_model="openai:gpt-4o"),
        ProviderInfo("gemini", "gemini", aliases=("google",),
                     default_model="gemini:gemini-1.5-pro"),
        ProviderInfo("ollama", "ollama", aliases=("local",)),
        ProviderInfo("empty", "openai"),
    ]
    capabilities = {"code": "task", "reasoning": "task", "inexpensive": "operational",
                    "legal": "domain"}
    tasks = {
        "validation": TaskInfo("validation", requirements={"reasoning": MODERATE}),
        "code": TaskInfo("code"),  # stored with no requirements: shadows the detected type
    }
    return ConfigSnapshot(
        providers=MappingProxyType({p.name: p for p in providers}),
        models=MappingProxyType({m.handle: m for m in models}),
        capabilities=capabilities,
        tasks=tasks,
    )


@pytest.fixture
def snap() -> ConfigSnapshot:
    return make_snapshot()


# ---- models of a provider ------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("openai", ["openai:gpt-4o", "openai:gpt-4o-mini", "openai:o3-mini"]),
        ("gemini", ["gemini:gemini-1.5-flash", "gemini:gemini-1.5-pro"]),  # disabled listed
        ("google", ["gemini:gemini-1.5-flash", "gemini:gemini-1.5-pro"]),  # alias
        ("local", ["ollama:llama2", "ollama:llama3:8b"]),
        ("empty", []),  # a known provider with no models: empty, not an error
    ],
)
def test_provider_models(snap, provider, expected):
    assert provider_models(snap, provider) == expected


# ---- provider of a model -------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("openai:gpt-4o", "openai"),
        ("gemini:gemini-1.5-pro", "gemini"),
        ("google:gemini-1.5-pro", "gemini"),  # alias handle
        ("local:llama3:8b", "ollama"),  # only the first colon splits
    ],
)
def test_model_provider(snap, handle, expected):
    assert model_provider(snap, handle) == expected


# ---- capabilities of a model ---------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("openai:gpt-4o", {"code": STRONG, "premium": STRONG, "reasoning": STRONG}),
        ("google:gemini-1.5-flash", {"code": BASIC, "inexpensive": EXCEPTIONAL, "reasoning": NONE}),
        ("ollama:llama2", {}),
    ],
)
def test_model_capabilities(snap, handle, expected):
    result = model_capabilities(snap, handle)
    assert result == expected
    assert list(result) == sorted(expected)  # by name
    result["code"] = 0  # a copy: the snapshot is not changed through it
    assert model_capabilities(snap, handle) == expected


# ---- models with one capability ------------------------------------------------------


@pytest.mark.parametrize(
    ("capability", "least", "expected"),
    [
        # strongest first, then by handle
        ("code", BASIC, ["openai:gpt-4o", "openai:o3-mini", "openai:gpt-4o-mini",
                         "gemini:gemini-1.5-flash"]),
        ("code", MODERATE, ["openai:gpt-4o", "openai:o3-mini", "openai:gpt-4o-mini"]),
        ("code", STRONG, ["openai:gpt-4o", "openai:o3-mini"]),  # == STRONG is enough
        ("code", EXCEPTIONAL, []),
        ("reasoning", EXCEPTIONAL, ["openai:o3-mini"]),
        ("reasoning", BASIC, ["openai:o3-mini", "gemini:gemini-1.5-pro", "openai:gpt-4o"]),
        ("inexpensive", EXCEPTIONAL, ["gemini:gemini-1.5-flash", "ollama:llama3:8b"]),
        ("legal", BASIC, []),  # listed, but no model has it
    ],
)
def test_models_with_capability(snap, capability, least, expected):
    assert models_with_capability(snap, capability, least) == expected


def test_the_default_threshold_is_basic(snap):
    # gemini-1.5-flash lists reasoning at none: that is not having it
    assert "gemini:gemini-1.5-flash" not in models_with_capability(snap, "reasoning")


def test_threshold_none_means_every_model(snap):
    assert sorted(models_with_capability(snap, "legal", NONE)) == sorted(snap.models)


# ---- models with several capabilities ------------------------------------------------


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        ({"code": STRONG, "reasoning": STRONG}, ["openai:o3-mini", "openai:gpt-4o"]),  # 7 > 6
        ({"code": STRONG, "reasoning": EXCEPTIONAL}, ["openai:o3-mini"]),
        ({"code": MODERATE, "inexpensive": STRONG}, ["openai:gpt-4o-mini"]),
        ({"code": BASIC, "inexpensive": BASIC}, ["gemini:gemini-1.5-flash", "openai:gpt-4o-mini"]),
        ({"premium": BASIC, "inexpensive": BASIC}, []),
        ({"legal": NONE}, sorted(make_snapshot().models)),  # all at 0: by handle
        ({"code": NONE}, ["openai:gpt-4o", "openai:o3-mini", "openai:gpt-4o-mini",
                          "gemini:gemini-1.5-flash", "gemini:gemini-1.5-pro", "ollama:llama2",
                          "ollama:llama3:8b"]),  # all, still ranked by strength
        ({}, sorted(make_snapshot().models)),
    ],
)
def test_models_with_capabilities(snap, requirements, expected):
    assert models_with_capabilities(snap, requirements) == expected


def test_one_capability_equals_the_set_of_one(snap):
    for name in ("code", "reasoning", "inexpensive"):
        for least in range(5):
            assert models_with_capability(snap, name, least) == models_with_capabilities(
                snap, {name: least}
            )


def test_the_order_does_not_depend_on_insertion(snap):
    reversed_models = MappingProxyType(dict(reversed(list(snap.models.items()))))
    other = ConfigSnapshot(providers=snap.providers, models=reversed_models,
                           capabilities=snap.capabilities)
    for requirements in ({"code": BASIC}, {"inexpensive": BASIC}, {}):
        assert models_with_capabilities(other, requirements) == models_with_capabilities(
            snap, requirements
        )
    assert provider_models(other, "openai") == provider_models(snap, "openai")


def test_a_capability_only_models_have_is_known():
    snap = ConfigSnapshot(models={"a:m": ModelInfo("a", "m", capabilities={"code": STRONG})},
                          providers={"a": ProviderInfo("a", "echo")})
    assert models_with_capability(snap, "code", STRONG) == ["a:m"]


# ---- task requirements ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("validation", {"reasoning": MODERATE}),  # stored
        ("code", {}),  # stored without requirements wins over the detected type
        ("translation", TASK_TYPE_REQUIREMENTS["translation"]),  # a detected type
        ("chat", {}),
        ("no_such_task", {}),  # any task name is valid; an unknown one needs nothing
    ],
)
def test_task_requirements(snap, task, expected):
    assert task_requirements(snap, task) == expected


def test_task_requirements_are_a_copy(snap):
    task_requirements(snap, "translation")["translation"] = 0
    assert task_requirements(snap, "translation") == TASK_TYPE_REQUIREMENTS["translation"]


# ---- unknown names and bad strengths -------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kind", "name"),
    [
        (lambda s: provider_models(s, "nope"), "provider", "nope"),
        (lambda s: provider_models(s, "OpenAI"), "provider", "OpenAI"),  # names are exact
        (lambda s: model_provider(s, "openai:gpt-5"), "model", "openai:gpt-5"),
        (lambda s: model_provider(s, "nope:gpt-4o"), "model", "nope:gpt-4o"),
        (lambda s: model_provider(s, "openai"), "model", "openai"),  # a provider, not a model
        (lambda s: model_provider(s, "gpt-4o"), "model", "gpt-4o"),  # no provider part
        (lambda s: model_capabilities(s, "openai:"), "model", "openai:"),
        (lambda s: models_with_capability(s, "telepathy"), "capability", "telepathy"),
        (lambda s: models_with_capabilities(s, {"code": 1, "telepathy": 1}), "capability",
         "telepathy"),
    ],
)
def test_unknown_names_raise_naming_them(snap, query, kind, name):
    with pytest.raises(UnknownName, match=f"^unknown {kind} '{name}'$") as info:
        query(snap)
    assert isinstance(info.value, LookupError) and not isinstance(info.value, KeyError)
    assert (info.value.kind, info.value.name) == (kind, name)


@pytest.mark.parametrize("strength", [-1, 5, 2.0, True, "strong", None])
def test_strengths_outside_0_to_4_are_refused(snap, strength):
    with pytest.raises(ValueError, match="strength must be an int from 0 to 4"):
        models_with_capability(snap, "code", strength)

