"""A store served by the fault server, for the API tests: providers `a` (gpt-a) and `b`
(gpt-b, gpt-c) speaking OpenAI's wire API, persona `writer` (a:gpt-a, then b:gpt-b), persona
`critic` (b:gpt-c), task `summarize` (b:gpt-c), image and speech personas `painter` and
`narrator` on the offline echo provider, and keys of several scopes."""

from __future__ import annotations

from types import SimpleNamespace

from personas.models import Persona, PersonaFallback
from routing.models import Task
from tests.factories import issue_key, model, provider
from tests.routing.engine_setup import build


def build_gateway(fault_url: str) -> SimpleNamespace:
    rows = build(fault_url)
    writer = Persona.objects.create(slug="writer", model=rows["gpt-a"], system_prompt="You write.")
    PersonaFallback.objects.create(persona=writer, model=rows["gpt-b"], position=1)
    Persona.objects.create(slug="critic", model=rows["gpt-c"])
    Task.objects.create(name="summarize", primary=rows["gpt-c"])
    # Offline image and speech models (the echo adapter makes a real PNG and a real WAV).
    echo = provider(name="echo", kind="echo")
    Persona.objects.create(slug="painter", modality="image", model=model(echo, "echo-image", modality="image"))
    Persona.objects.create(slug="narrator", modality="audio", model=model(echo, "echo-speech", modality="audio"))
    return SimpleNamespace(
        rows=rows,
        # scoped to writer, painter, narrator and summarize only
        key=issue_key(name="writer-app", personas=("writer", "painter", "narrator"), tasks=("summarize",)),
        overriding=issue_key(name="override-app", personas=("writer",), may_override=True),
        everything=issue_key(name="ops", all_personas=True, all_tasks=True, may_override=True),
    )
