"""Resolution against the live configuration: the cached snapshot, the round-robin counter
shared through the Django cache, and automatic task detection. The API, the CLI and the
engine call `resolve_live`; the rules themselves are in the pure `routing.resolve`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from django.core.cache import cache

from routing.config import PersonaProfile
from routing.detect import TASK_TYPE_REQUIREMENTS, detect_task_type
from routing.resolve import Resolution, ResolveRequest, resolve
from routing.snapshot import snapshot_get

AUTO_TASK = "auto"  # the task name that asks for detection from the prompt (source document 002)
ROTATION_KEY = "routing:rotation:{persona}:{task}"


def resolve_live(
    *,
    persona: PersonaProfile | None = None,
    task: str | None = None,
    prompt: str = "",
    override: Sequence[str] = (),
    may_override: bool = True,
    modality: str | None = None,
    strategy: str | None = None,
    requirements: Mapping[str, int] | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    characters: int = 0,
    request_id: str = "",
    explain_only: bool = False,
) -> Resolution:
    """`explain_only` (the API's resolve, `qf model show`) reads the round-robin counter
    without moving it, so looking at a chain does not change the next one."""
    snapshot = snapshot_get()
    wanted = dict(requirements or {})
    note = None
    if task == AUTO_TASK:
        task = detect_task_type(prompt)
        note = f"task {task} detected from the prompt"
        if task not in snapshot.tasks:
            for name, strength in TASK_TYPE_REQUIREMENTS.get(task, {}).items():
                wanted[name] = max(strength, wanted.get(name, 0))
            strategy = strategy or "capability"
    stored = snapshot.tasks.get(task) if task else None
    effective = strategy or (stored.strategy if stored else "failover")
    request = ResolveRequest(
        persona=persona,
        task=task,
        override=tuple(override),
        may_override=may_override,
        modality=modality,
        strategy=strategy,
        requirements=wanted,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        characters=characters,
        request_id=request_id,
        rotation=rotation(persona, task, advance=not explain_only) if effective == "round_robin" else 0,
    )
    resolution = resolve(snapshot, request)
    if note:
        resolution = dataclasses.replace(resolution, notes=(note, *resolution.notes))
    return resolution


def rotation(persona: PersonaProfile | None, task: str | None, *, advance: bool = True) -> int:
    """A counter every process shares, so round-robin rotates across the whole fleet."""
    key = ROTATION_KEY.format(persona=persona.slug if persona else "", task=task or "")
    if not advance:
        return cache.get(key, 0) + 1  # the value the next request will get
    try:
        return cache.incr(key)
    except ValueError:  # first use: create it; a racing process may have done so first
        cache.add(key, 0, timeout=None)
        return cache.incr(key)
