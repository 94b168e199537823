"""Small builders for store rows, shared by the test modules."""
from __future__ import annotations

from typing import Any

from routing.models import Model, Provider


def provider(name: str = "openai", kind: str = "openai", **fields: Any) -> Provider:
    fields.setdefault("base_url", "https://api.openai.com/v1" if kind != "echo" else "")
    return Provider.objects.create(name=name, kind=kind, **fields)


def model(prov: Provider, name: str = "gpt-4o", **fields: Any) -> Model:
    return Model.objects.create(provider=prov, name=name, **fields)
