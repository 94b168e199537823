"""`provider:model` handles (source document 003). Pure: no database."""
from __future__ import annotations

import re
from typing import NamedTuple

PROVIDER_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
ENV_REF_RE = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")


class Handle(NamedTuple):
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_handle(value: str) -> Handle:
    """Split on the first colon only: Ollama model names carry their own (`llama3:8b`)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a provider:model string, got {type(value).__name__}")
    provider, sep, model = value.strip().partition(":")
    if not sep or not model.strip():
        raise ValueError(f"{value!r} is not a provider:model handle")
    if not PROVIDER_NAME_RE.match(provider):
        raise ValueError(f"{provider!r} is not a valid provider name")
    if any(ch.isspace() for ch in model):
        raise ValueError(f"model name {model!r} contains white space")
    return Handle(provider, model)


def env_var_name(reference: str) -> str:
    """The variable a `${NAME}` credential reference points at."""
    match = ENV_REF_RE.match(reference)
    if not match:
        raise ValueError(f"{reference!r} is not a ${{ENV_VAR}} reference")
    return match.group(1)
