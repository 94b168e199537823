"""A hand-built configuration for the pure resolver tests: no database anywhere."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType as Frozen

from routing.config import ConfigSnapshot, ModelInfo, PersonaProfile, ProviderInfo, TaskInfo

CODE, REASONING, CREATIVE, INEXPENSIVE = "code", "reasoning", "creative", "inexpensive"
BASIC, MODERATE, STRONG, EXCEPTIONAL = 1, 2, 3, 4


def model(handle: str, **fields) -> ModelInfo:
    provider, _, name = handle.partition(":")
    if "capabilities" in fields:
        fields["capabilities"] = Frozen(fields["capabilities"])
    return ModelInfo(provider=provider, name=name, **fields)


MODELS = [
    model("openai:gpt-4o", context_window=128_000, input_price=2.5, output_price=10,
          capabilities={CODE: STRONG, REASONING: STRONG, CREATIVE: MODERATE}),
    model("openai:gpt-4o-mini", context_window=128_000, input_price=0.15, output_price=0.6,
          capabilities={CODE: MODERATE, INEXPENSIVE: EXCEPTIONAL}),
    model("openai:dall-e-3", modality="image", image_price=0.04),
    model("anthropic:claude-sonnet", context_window=200_000, input_price=3, output_price=15,
          capabilities={CODE: EXCEPTIONAL, REASONING: EXCEPTIONAL, CREATIVE: EXCEPTIONAL}),
    model("anthropic:claude-haiku", context_window=200_000, input_price=0.8, output_price=4,
          capabilities={CODE: MODERATE, CREATIVE: MODERATE}),
    model("gemini:gemini-pro", context_window=1_000_000, input_price=1.25, output_price=5,
          capabilities={REASONING: STRONG}),
    model("local:llama3", context_window=8192, input_price=0, output_price=0,
          capabilities={CODE: BASIC}),
    model("local:old", is_enabled=False, context_window=4096),
    model("off:model", context_window=32_000),
    model("echo:echo"),
    model("echo:echo-image", modality="image"),
    model("echo:echo-speech", modality="audio"),
]

PROVIDERS = [
    ProviderInfo("openai", "openai", aliases=("oai",)),
    ProviderInfo("anthropic", "anthropic"),
    ProviderInfo("gemini", "gemini", aliases=("google",)),
    ProviderInfo("local", "ollama", default_model="local:llama3"),
    ProviderInfo("off", "openai", is_enabled=False, default_model="off:model"),
    ProviderInfo("echo", "echo", default_model="echo:echo"),
]

TASKS = [
    TaskInfo("review", primary="anthropic:claude-sonnet",
             fallbacks=("openai:gpt-4o", "local:llama3"), requirements=Frozen({CODE: STRONG})),
    TaskInfo("summarize", primary="openai:gpt-4o-mini",
             fallbacks=("anthropic:claude-haiku", "gemini:gemini-pro")),
    TaskInfo("codegen", requirements=Frozen({CODE: MODERATE})),
    TaskInfo("portrait", modality="image", primary="openai:dall-e-3"),
]

PERSONAS = {
    "smith": PersonaProfile("smith", model="anthropic:claude-sonnet", fallbacks=("openai:gpt-4o",),
                            task_overrides=Frozen({"summarize": "local:llama3"})),
    "mike": PersonaProfile("mike", provider="local"),
    "painter": PersonaProfile("painter", modality="image", model="openai:dall-e-3"),
    "bare": PersonaProfile("bare"),
    "ei": PersonaProfile("ei", model="google:gemini-pro"),  # source document 003, by alias
}

BUILTIN = {"text": "echo:echo", "image": "echo:echo-image", "audio": "echo:echo-speech"}


def snapshot(*, models=None, providers=None, tasks=None, **fields) -> ConfigSnapshot:
    """The catalogue above; keyword arguments replace a part of it."""
    fields.setdefault("defaults", {"text": "openai:gpt-4o-mini", "image": "echo:echo-image"})
    fields.setdefault("env_default_models", {"text": "anthropic:claude-haiku"})
    fields.setdefault("builtin_models", BUILTIN)
    return ConfigSnapshot(
        providers=Frozen({p.name: p for p in (PROVIDERS if providers is None else providers)}),
        models=Frozen({m.handle: m for m in (MODELS if models is None else models)}),
        tasks=Frozen({t.name: t for t in (TASKS if tasks is None else tasks)}),
        **{k: Frozen(v) if isinstance(v, dict) else v for k, v in fields.items()},
    )


def persona(slug: str, **changes) -> PersonaProfile:
    return replace(PERSONAS[slug], **changes) if slug in PERSONAS else PersonaProfile(slug, **changes)
