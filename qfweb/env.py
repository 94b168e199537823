"""Typed, strict readers for environment variables.

Each helper raises ImproperlyConfigured naming the variable when its value cannot be
parsed, so a typo in deployment fails at start-up instead of silently using a default.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}
HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*:\S+$")


class Env:
    """Reads one environment mapping (os.environ by default; tests pass a dict)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in TRUE_WORDS:
            return True
        if value.lower() in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
        return number

    def float(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
        if number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
        return number

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.raw(name) or default
        if value not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def secret(self, name: str) -> str | None:
        """The value of NAME, or the contents of the file named by NAME_FILE."""
        value = self.raw(name)
        path = self.raw(f"{name}_FILE")
        if value is not None and path is not None:
            raise ImproperlyConfigured(f"set either {name} or {name}_FILE, not both")
        if path is None:
            return value
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None

    def handle(self, name: str) -> str | None:
        """A `provider:model` handle, checked for shape only."""
        value = self.raw(name)
        if value is not None and not HANDLE_RE.match(value):
            raise ImproperlyConfigured(f"{name} must be a provider:model handle, got {value!r}")
        return value

    def handles_with_prefix(self, prefix: str) -> dict[str, str]:
        """{suffix in lower case: handle} for every NAME that starts with prefix."""
        found = {}
        for name in sorted(self.environ):
            if name.startswith(prefix) and len(name) > len(prefix):
                handle = self.handle(name)
                if handle is not None:
                    found[name[len(prefix):].lower()] = handle
        return found

    def mapping(self, name: str, default: dict[str, str]) -> dict[str, str]:
        """`key=value,key=value` pairs."""
        value = self.raw(name)
        if value is None:
            return dict(default)
        pairs = {}
        for item in value.split(","):
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise ImproperlyConfigured(f"{name} must be key=value pairs separated by commas, got {item!r}")
            pairs[key.strip()] = val.strip()
        return pairs
