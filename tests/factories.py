"""Small builders for store rows, shared by the test modules."""
from __future__ import annotations

from typing import Any

from routing.models import Model, Provider


def provider(name: str = "openai", kind: str = "openai", **fields: Any) -> Provider:
    fields.setdefault("base_url", "https://api.openai.com/v1" if kind != "echo" else "")
    return Provider.objects.create(name=name, kind=kind, **fields)


def model(prov: Provider, name: str = "gpt-4o", **fields: Any) -> Model:
    return Model.objects.create(provider=prov, name=name, **fields)


# Fields no API input may set (RELIABILITY.md required test 23: mass assignment).
PROTECTED = ["hashed_key", "prefix", "usage", "health_state", "is_staff", "credential_encrypted", "id"]


def bearer(plaintext: str) -> dict[str, str]:
    """Test-client keyword arguments that authenticate with an API key."""
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def issue_key(*, personas: tuple[str, ...] = (), tasks: tuple[str, ...] = (), name: str = "app", **scopes: Any) -> str:
    """A new client key scoped to these persona slugs and task names; the plaintext."""
    from personas.keys import api_key_issue
    from personas.models import Persona
    from routing.models import Task

    issued = api_key_issue(
        name=name,
        personas=Persona.objects.filter(slug__in=personas),
        tasks=Task.objects.filter(name__in=tasks),
        **scopes,
    )
    return issued.plaintext
