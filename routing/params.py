"""Generation parameters: which ones each modality accepts, and their bounds. Pure."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ParamError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _number(lo: float, hi: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not lo <= value <= hi:
            return f"must be between {lo:g} and {hi:g}"
        return None
    return check


def _integer(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if not lo <= value <= hi:
            return f"must be between {lo} and {hi}"
        return None
    return check


def _text(max_length: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "must be a non-empty string"
        if len(value) > max_length:
            return f"must be at most {max_length} characters"
        return None
    return check


def _stop(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if isinstance(value, list) and len(value) <= 4 and all(isinstance(v, str) for v in value):
        return None
    return "must be a string or a list of up to 4 strings"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


COMMON = {"custom": _mapping, "seed": _integer(0, 2**63 - 1)}
RULES: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "text": {
        "temperature": _number(0, 2),
        "max_tokens": _integer(1, 2_000_000),
        "top_p": _number(0, 1),
        "top_k": _integer(1, 1000),
        "presence_penalty": _number(-2, 2),
        "frequency_penalty": _number(-2, 2),
        "stop": _stop,
        "reasoning_effort": _text(20),
    },
    "image": {
        "width": _integer(64, 4096),
        "height": _integer(64, 4096),
        "n": _integer(1, 10),
        "steps": _integer(1, 150),
        "quality": _text(20),
        "style": _text(40),
        "negative_prompt": _text(2000),
    },
    "audio": {
        "voice": _text(100),
        "language": _text(20),
        "speed": _number(0.25, 4),
        "format": _text(10),
    },
}


def allowed_params(modality: str) -> list[str]:
    return sorted({**COMMON, **RULES[modality]})


def validate_params(modality: str, params: Any) -> dict[str, Any]:
    """Return `params` unchanged if every key is known for `modality` and in bounds.

    Provider-specific extras go under `custom`, which is passed through as it is.
    """
    if not isinstance(params, dict):
        raise ParamError("params", "must be an object")
    rules = {**COMMON, **RULES[modality]}
    for key, value in params.items():
        if key not in rules:
            raise ParamError(key, f"is not a parameter for {modality} (allowed: {', '.join(allowed_params(modality))})")
        problem = rules[key](value)
        if problem:
            raise ParamError(key, problem)
    return params
