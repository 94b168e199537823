"""The resolver, one table row per rule (STYLE B-2). No django_db mark: pytest-django blocks
the database, so an accidental query fails the test."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from routing.choices import Strategy, Strength
from routing.config import STRENGTH_NAMES, ProviderInfo, TaskInfo
from routing.resolve import DropReason, Level, ResolveRequest, resolve
from routing.strategies import STRATEGIES
from tests.routing.catalog import CODE, MODELS, MODERATE, PROVIDERS, model, persona, snapshot

# The chain every text request ends with, from the catalogue's defaults.
DEFAULTS = [
    "env_default anthropic:claude-haiku",
    "global_default openai:gpt-4o-mini",
    "builtin echo:echo",
]


class Row(NamedTuple):
    request: ResolveRequest
    chain: list[str]  # "level handle", exactly
    dropped: list[str] = []  # "level reference reason", each must be present
    config: dict = {}  # replaces parts of the catalogue


def row(chain, dropped=(), config=None, **request) -> Row:
    if isinstance(request.get("persona"), str):
        request["persona"] = persona(request["persona"])
    return Row(ResolveRequest(**request), list(chain), list(dropped), config or {})


LEVELS = {
    "override: a handle": row(
        ["override openai:gpt-4o-mini", "persona anthropic:claude-sonnet", "persona_fallback openai:gpt-4o",
         "env_default anthropic:claude-haiku", "builtin echo:echo"],  # the stored default is a duplicate
        persona="smith", override=("openai:gpt-4o-mini",),
    ),
    "override: a provider name means its default model": row(
        ["override local:llama3", *DEFAULTS], override=("local",),
    ),
    "override: an alias handle": row(
        ["override openai:gpt-4o", *DEFAULTS], override=("oai:gpt-4o",),
    ),
    "override: a list keeps its order": row(
        ["override gemini:gemini-pro", "override openai:gpt-4o", *DEFAULTS],
        override=("google:gemini-pro", "openai:gpt-4o"),
    ),
    "persona_task: the persona's model for this task comes first": row(
        ["persona_task local:llama3", "persona anthropic:claude-sonnet", "persona_fallback openai:gpt-4o",
         "task openai:gpt-4o-mini", "task_fallback anthropic:claude-haiku", "task_fallback gemini:gemini-pro", DEFAULTS[2]],
        persona="smith", task="summarize",
    ),
    "persona then persona_fallback": row(
        ["persona anthropic:claude-sonnet", "persona_fallback openai:gpt-4o", *DEFAULTS], persona="smith",
    ),
    "persona: a provider alone means its default model": row(
        ["persona local:llama3", *DEFAULTS], persona="mike",
    ),
    "task then task_fallback": row(
        ["task anthropic:claude-sonnet", "task_fallback openai:gpt-4o", *DEFAULTS], task="review",
    ),
    "capability: a task with requirements and no model of its own": row(
        # code >= moderate, strongest first, then cheapest: sonnet 4, gpt-4o 3, mini 2 (cheaper), haiku 2
        ["capability anthropic:claude-sonnet", "capability openai:gpt-4o", "capability openai:gpt-4o-mini",
         "capability anthropic:claude-haiku", "builtin echo:echo"],
        task="codegen",
    ),
    "capability: the request's own requirements, with no task": row(
        # reasoning >= strong: sonnet exceptional; gemini and gpt-4o strong, gemini cheaper
        ["capability anthropic:claude-sonnet", "capability gemini:gemini-pro", "capability openai:gpt-4o", *DEFAULTS],
        requirements={"reasoning": Strength.STRONG},
    ),
    "env_task: QF_MODEL_<TASK>, also for a task that is not stored": row(
        ["env_task gemini:gemini-pro", *DEFAULTS], task="response",
        config={"env_task_models": {"response": "gemini:gemini-pro"}},
    ),
    "env_default: QF_DEFAULT_<MODALITY>_MODEL": row(DEFAULTS, persona="bare"),
    "global_default: the stored default": row(
        ["global_default openai:gpt-4o-mini", "builtin echo:echo"], config={"env_default_models": {}},
    ),
    "builtin: the settings' default when nothing else is configured": row(
        ["builtin echo:echo"], config={"env_default_models": {}, "defaults": {}},
    ),
    "modality: the task's wins over the persona's": row(
        ["task openai:dall-e-3", "global_default echo:echo-image"], persona="smith", task="portrait",
        dropped=["persona anthropic:claude-sonnet wrong_modality"],
    ),
    "modality: the persona's when there is no task": row(
        ["persona openai:dall-e-3", "global_default echo:echo-image"], persona="painter",
    ),
    "modality: audio goes to the audio builtin": row(["builtin echo:echo-speech"], modality="audio"),
}

DROPS = {
    "disabled": row(
        DEFAULTS, persona="bare", override=("local:old",),
        dropped=["override local:old disabled"],
    ),
    "provider disabled": row(
        DEFAULTS, override=("off:model",), dropped=["override off:model provider_disabled"],
    ),
    "wrong modality": row(
        ["persona anthropic:claude-sonnet", "persona_fallback openai:gpt-4o", *DEFAULTS],
        persona="smith", override=("openai:dall-e-3",),
        dropped=["override openai:dall-e-3 wrong_modality"],
    ),
    "context too small": row(
        DEFAULTS, persona="mike", input_tokens=8000, output_tokens=500,
        dropped=["persona local context_too_small"],
    ),
    "below required capability": row(
        ["task anthropic:claude-sonnet", "task_fallback openai:gpt-4o", *DEFAULTS], task="review",
        dropped=["task_fallback local:llama3 below_capability"],
    ),
    "override not allowed": row(
        ["persona local:llama3", *DEFAULTS], persona="mike", override=("openai:gpt-4o",), may_override=False,
        dropped=["override openai:gpt-4o override_not_allowed"],
    ),
    "unknown model": row(DEFAULTS, override=("openai:gpt-9",), dropped=["override openai:gpt-9 unknown"]),
    "unknown provider": row(DEFAULTS, override=("nope:x",), dropped=["override nope:x unknown"]),
    "provider without a default model": row(
        DEFAULTS, override=("anthropic",), dropped=["override anthropic no_default_model"],
    ),
    "duplicate: a model already in the chain": row(
        ["persona anthropic:claude-sonnet", "persona_fallback openai:gpt-4o", *DEFAULTS], persona="smith", task="review",
        dropped=["task anthropic:claude-sonnet duplicate", "task_fallback openai:gpt-4o duplicate",
                 "task_fallback local:llama3 below_capability"],
    ),
    "multi-model off: only the defaults serve": row(
        DEFAULTS, persona="smith", task="summarize", override=("openai:gpt-4o",),
        config={"multi_model": False, "env_task_models": {"summarize": "gemini:gemini-pro"}},
        dropped=["override openai:gpt-4o multi_model_off", "persona_task local:llama3 multi_model_off",
                 "persona anthropic:claude-sonnet multi_model_off", "persona_fallback openai:gpt-4o multi_model_off",
                 "task openai:gpt-4o-mini multi_model_off", "task_fallback anthropic:claude-haiku multi_model_off",
                 "task_fallback gemini:gemini-pro multi_model_off", "env_task gemini:gemini-pro multi_model_off"],
    ),
}

SOURCE_DOCUMENTS = {
    # 000: lookup order runtime > role config > default provider.
    "000 runtime > role > default": row(
        ["override openai:gpt-4o", "persona local:llama3", *DEFAULTS], persona="mike", override=("openai:gpt-4o",),
    ),
    "000 an unconfigured role gets the default": row(DEFAULTS, persona="bare"),
    # 003: persona model, then EI_MODEL_<OPERATION>, then the global model, then the built-in one.
    "003 the four-step chain": row(
        ["persona gemini:gemini-pro", "env_task openai:gpt-4o", "env_default anthropic:claude-haiku", "builtin echo:echo"],
        persona="ei", task="response",
        config={"tasks": [], "defaults": {}, "env_task_models": {"response": "openai:gpt-4o"}},
    ),
    "003 without a persona model the chain starts at the operation's": row(
        ["env_task openai:gpt-4o", "env_default anthropic:claude-haiku", "builtin echo:echo"],
        persona="sage", task="response",
        config={"tasks": [], "defaults": {}, "env_task_models": {"response": "openai:gpt-4o"}},
    ),
}

def _described(resolution) -> tuple[list[str], list[str]]:
    chain = [f"{e.level} {e.handle}" for e in resolution.chain]
    dropped = [f"{d.level} {d.reference} {d.reason}" for d in resolution.dropped]
    return chain, dropped


@pytest.mark.parametrize("case", [*LEVELS.values(), *DROPS.values(), *SOURCE_DOCUMENTS.values()],
                         ids=[*LEVELS, *DROPS, *SOURCE_DOCUMENTS])
def test_resolution_table(case: Row):
    resolution = resolve(snapshot(**case.config), case.request)
    chain, dropped = _described(resolution)
    assert chain == case.chain
    assert [d for d in case.dropped if d not in dropped] == []


@pytest.mark.parametrize("case", DROPS.values(), ids=DROPS)
def test_drop_rows_drop_exactly_what_they_list(case: Row):
    assert _described(resolve(snapshot(**case.config), case.request))[1] == case.dropped


def test_every_level_and_drop_reason_has_a_row():
    seen_levels, seen_reasons = set(), set()
    for r in [*LEVELS.values(), *DROPS.values(), *SOURCE_DOCUMENTS.values()]:
        resolution = resolve(snapshot(**r.config), r.request)
        seen_levels |= {e.level for e in resolution.chain}
        seen_reasons |= {d.reason for d in resolution.dropped}
    assert seen_levels == set(Level)
    assert seen_reasons == set(DropReason)


def test_drops_explain_themselves():
    r = resolve(snapshot(), ResolveRequest(persona=persona("mike"), input_tokens=9000))
    [drop] = r.dropped
    assert (drop.source, drop.detail) == ("persona mike", "context window 8192 < 9000 tokens")
    r = resolve(snapshot(), ResolveRequest(task="review"))
    assert r.dropped[0].detail == "code is basic, needs strong"
    assert r.dropped[0].source == "task review fallback #2"


def test_dropped_override_when_not_allowed_is_still_explained_and_never_served():
    r = resolve(snapshot(), ResolveRequest(override=("openai:gpt-4o", "local"), may_override=False))
    assert [d.reason for d in r.dropped] == [DropReason.OVERRIDE_NOT_ALLOWED] * 2
    assert "openai:gpt-4o" not in r.handles and "local:llama3" not in r.handles


def test_requirements_filter_only_what_the_task_contributes():
    """A persona's explicit choice is honoured even below the task's requirements."""
    r = resolve(snapshot(), ResolveRequest(persona=persona("mike"), task="review"))
    assert r.chain[0].handle == "local:llama3" and r.chain[0].level == Level.PERSONA
    assert "task_fallback local:llama3 duplicate" in _described(r)[1]


def test_capability_strategy_ranks_the_task_with_every_model_meeting_its_requirements():
    tasks = [TaskInfo("review", primary="anthropic:claude-sonnet", fallbacks=("openai:gpt-4o", "local:llama3"),
                      requirements={CODE: MODERATE}, strategy="capability")]
    r = resolve(snapshot(tasks=tasks), ResolveRequest(task="review"))
    assert _described(r)[0] == [
        "task anthropic:claude-sonnet",  # code exceptional
        "task_fallback openai:gpt-4o",  # code strong
        "capability openai:gpt-4o-mini",  # code moderate, cheaper than haiku
        "capability anthropic:claude-haiku",
        "builtin echo:echo",
    ]
    assert "task_fallback local:llama3 below_capability" in _described(r)[1]


def test_capability_strategy_without_requirements_adds_no_models():
    tasks = [TaskInfo("chat", primary="openai:gpt-4o", strategy="capability")]
    r = resolve(snapshot(tasks=tasks), ResolveRequest(task="chat"))
    assert _described(r)[0] == ["task openai:gpt-4o", *DEFAULTS]


def test_the_capability_level_lists_the_best_few():
    many = [model(f"bulk:m{i}", input_price=i, output_price=i, capabilities={CODE: MODERATE}) for i in range(9)]
    providers = [*PROVIDERS, ProviderInfo("bulk", "openai")]
    r = resolve(snapshot(models=[*MODELS, *many], providers=providers), ResolveRequest(task="codegen"))
    capability = [e.handle for e in r.chain if e.level == Level.CAPABILITY]
    # strength first; then list price: m0 0, gpt-4o-mini 0.75, m1 2 per 1M
    assert capability == ["anthropic:claude-sonnet", "openai:gpt-4o", "bulk:m0", "openai:gpt-4o-mini", "bulk:m1"]
    assert r.notes == ("the capability level lists the best 5 models",)


def test_the_capability_level_skips_models_that_cannot_serve():
    r = resolve(snapshot(), ResolveRequest(task="codegen", input_tokens=150_000))
    # gpt-4o and gpt-4o-mini hold 128k tokens: too few
    assert [e.handle for e in r.chain if e.level == Level.CAPABILITY] == ["anthropic:claude-sonnet", "anthropic:claude-haiku"]


def test_unknown_task_is_noted():
    r = resolve(snapshot(), ResolveRequest(task="nonesuch"))
    assert r.notes == ("task nonesuch is not stored; its environment model still applies",)


def test_explanation_as_dict():
    r = resolve(snapshot(), ResolveRequest(persona=persona("mike"), input_tokens=9000))
    assert r.as_dict() == {
        "persona": "mike",
        "modality": "text",
        "task": None,
        "strategy": "failover",
        "chain": [
            {"model": "anthropic:claude-haiku", "level": "env_default", "source": "QF_DEFAULT_TEXT_MODEL"},
            {"model": "openai:gpt-4o-mini", "level": "global_default", "source": "stored default for text"},
            {"model": "echo:echo", "level": "builtin", "source": "built-in default for text"},
        ],
        "dropped": [
            {"model": "local", "level": "persona", "reason": "context_too_small",
             "detail": "context window 8192 < 9000 tokens", "source": "persona mike"},
        ],
        "notes": [],
    }


def test_pure_names_match_the_database_choices():
    assert set(STRATEGIES) == set(Strategy.values)
    assert list(STRENGTH_NAMES) == Strength.labels_lower()
    assert MODERATE == Strength.MODERATE and CODE == "code"
