"""A store served by the fault server, for the API tests: providers `a` (gpt-a) and `b`
(gpt-b, gpt-c) speaking OpenAI's wire API, persona `writer` (a:gpt-a, then b:gpt-b), persona
`critic` (b:gpt-c), task `summarize` (b:gpt-c), and keys of several scopes."""

from __future__ import annotations

from types import SimpleNamespace

from personas.models import Persona, PersonaFallback
from routing.models import Task
from tests.factories import issue_key
from tests.routing.engine_setup import build


def build_gateway(fault_url: str) -> SimpleNamespace:
    rows = build(fault_url)
    writer = Persona.objects.create(slug="writer", model=rows["gpt-a"], system_prompt="You write.")
    PersonaFallback.objects.create(persona=writer, model=rows["gpt-b"], position=1)
    Persona.objects.create(slug="critic", model=rows["gpt-c"])
    Task.objects.create(name="summarize", primary=rows["gpt-c"])
    return SimpleNamespace(
        rows=rows,
        # scoped to writer and summarize only
        key=issue_key(name="writer-app", personas=("writer",), tasks=("summarize",)),
        overriding=issue_key(name="override-app", personas=("writer",), may_override=True),
        everything=issue_key(name="ops", all_personas=True, all_tasks=True, may_override=True),
    )
