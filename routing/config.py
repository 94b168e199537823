"""The configuration resolution reads, as frozen plain data (STYLE B-2).

`routing.snapshot` builds a `ConfigSnapshot` from the database; tests build one by hand.
Nothing here imports Django, so the resolver and its tests run without a database.
Strengths are the integers of `routing.choices.Strength` (none 0 .. exceptional 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

EMPTY: Mapping = MappingProxyType({})
STRENGTH_NAMES = ("none", "basic", "moderate", "strong", "exceptional")  # index = strength


def empty_mapping() -> Any:
    """A field defaulting to the read-only empty mapping (dataclasses refuse it as a plain default)."""
    return field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    name: str
    kind: str
    is_enabled: bool = True
    aliases: tuple[str, ...] = ()
    default_model: str | None = None  # a handle
    health_state: str = "unknown"
    latency_ms: float | None = None  # last measured by a health check
    # What the engine needs to call it (routing.engine); resolution ignores these.
    id: int | None = None
    base_url: str = ""
    allow_private_network: bool = False
    timeout_s: int = 60
    rate_limit_rpm: int | None = None
    credential_ref: str = ""  # ${ENV_VAR}
    credential_encrypted: str = field(default="", repr=False)  # decrypted only to make a call


@dataclass(frozen=True, slots=True)
class ModelInfo:
    provider: str
    name: str
    modality: str = "text"
    is_enabled: bool = True
    context_window: int | None = None
    max_output_tokens: int | None = None
    input_price: float | None = None  # USD per 1M tokens; None when unknown
    output_price: float | None = None
    image_price: float | None = None  # USD per image
    char_price: float | None = None  # USD per 1k characters
    weight: int = 1
    capabilities: Mapping[str, int] = empty_mapping()  # capability name -> strength
    # What the engine needs to call it (routing.engine); resolution ignores these.
    id: int | None = None
    default_params: Mapping[str, object] = empty_mapping()
    param_map: Mapping[str, str] = empty_mapping()  # our parameter name -> the provider's
    credential_ref: str = ""  # overrides the provider's
    max_retries: int = 1
    retry_delay_s: float = 0.5  # backoff base
    timeout_s: int | None = None  # None: the provider's
    rate_limit_rpm: int | None = None
    handle: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "handle", f"{self.provider}:{self.name}")


@dataclass(frozen=True, slots=True)
class TaskInfo:
    name: str
    modality: str = "text"
    primary: str | None = None  # a handle
    fallbacks: tuple[str, ...] = ()
    requirements: Mapping[str, int] = empty_mapping()  # capability name -> minimum strength
    strategy: str = "failover"
    default_params: Mapping[str, object] = empty_mapping()


@dataclass(frozen=True, slots=True)
class PersonaProfile:
    """A persona as routing sees it (DESIGN.md, layers): built by `personas`, read here."""

    slug: str
    modality: str = "text"
    model: str | None = None  # a handle ...
    provider: str | None = None  # ... or a provider, meaning its default model
    fallbacks: tuple[str, ...] = ()
    task_overrides: Mapping[str, str] = empty_mapping()  # task name -> handle
    task_params: Mapping[str, Mapping[str, object]] = empty_mapping()  # task name -> params
    params: Mapping[str, object] = empty_mapping()
    system_prompt: str = ""
    is_enabled: bool = True
    monthly_budget: Decimal | None = None  # USD; the engine refuses once it is spent


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    version: int = 0
    providers: Mapping[str, ProviderInfo] = empty_mapping()  # by name
    models: Mapping[str, ModelInfo] = empty_mapping()  # by handle
    capabilities: Mapping[str, str] = empty_mapping()  # name -> category
    tasks: Mapping[str, TaskInfo] = empty_mapping()
    defaults: Mapping[str, str] = empty_mapping()  # stored global default: modality -> handle
    env_task_models: Mapping[str, str] = empty_mapping()  # QF_MODEL_<TASK>: task -> handle
    env_default_models: Mapping[str, str] = empty_mapping()  # QF_DEFAULT_<MODALITY>_MODEL
    builtin_models: Mapping[str, str] = empty_mapping()  # settings.QF_BUILTIN_MODELS
    multi_model: bool = True  # QF_MULTI_MODEL
    provider_names: Mapping[str, str] = field(init=False)  # name or alias -> name
    # Answers derived from this (immutable) snapshot, kept for its lifetime: e.g. the models
    # meeting a set of requirements, ranked. Not part of its value.
    memo: dict[object, object] = field(init=False, default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = {alias: p.name for p in self.providers.values() for alias in p.aliases}
        names.update({name: name for name in self.providers})
        object.__setattr__(self, "provider_names", MappingProxyType(names))

    def locate(self, reference: str) -> tuple[str | None, str | None]:
        """(handle, None) for what `reference` names by provider name or alias (`google:x`
        -> `gemini:x`; a bare provider name means its default model), else (None, why).
        The handle is not checked against `models`."""
        provider, sep, model = reference.partition(":")
        name = self.provider_names.get(provider)
        if name is None:
            return None, f"no provider {provider!r}"
        if sep:
            return f"{name}:{model}", None
        default = self.providers[name].default_model
        return (default, None) if default else (None, f"provider {name} has no default model")

    def canonical(self, reference: str) -> str | None:
        """The handle of the stored model `reference` names, or None."""
        handle, _ = self.locate(reference)
        return handle if handle in self.models else None


def merge_requirements(*requirements: Mapping[str, int]) -> dict[str, int]:
    """Capability name -> the highest minimum strength any of them asks."""
    merged: dict[str, int] = {}
    for needs in requirements:
        for name, strength in needs.items():
            merged[name] = max(strength, merged.get(name, 0))
    return merged
