"""Resolution against the live configuration: the cached snapshot, the round-robin counter
shared through the Django cache, and automatic task detection. The API, the CLI and the
engine call `resolve_live`; the rules themselves are in the pure `routing.resolve`."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence

from django.core.cache import cache

from qfweb.errors import QfError
from routing.choices import Modality
from routing.config import STRENGTH_NAMES, ConfigSnapshot, PersonaProfile, merge_requirements
from routing.detect import TASK_TYPE_REQUIREMENTS, detect_task_type
from routing.resolve import DropReason, Level, Resolution, ResolveRequest, resolve
from routing.snapshot import snapshot_get
from routing.strategies import STRATEGIES

AUTO_TASK = "auto"  # the task name that asks for detection from the prompt (source document 002)
ROTATION_KEY = "routing:rotation:{persona}:{task}"
ROTATION_TTL_S = 86_400  # an idle counter goes; it restarts at the first model


def resolve_live(
    *,
    persona: PersonaProfile | None = None,
    task: str | None = None,
    prompt: str = "",
    override: str | Sequence[str] = (),
    may_override: bool = True,
    modality: str | None = None,
    strategy: str | None = None,
    requirements: Mapping[str, int] | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    characters: int = 0,
    request_id: str = "",
    explain_only: bool = False,
    snapshot: ConfigSnapshot | None = None,
) -> Resolution:
    """Raises QfError naming the field for input the resolver cannot use. `explain_only`
    (the API's resolve, `qf model show`) reads the round-robin counter without moving it,
    so looking at a chain does not change the next one."""
    override = _handles(override)
    wanted = _requirements(requirements)
    _check(task, strategy, modality, input_tokens=input_tokens, output_tokens=output_tokens, characters=characters)
    snapshot = snapshot or snapshot_get()  # the engine passes the one it will run with
    note = None
    if task == AUTO_TASK:
        task = detect_task_type(prompt)
        note = f"task {task} detected from the prompt"
        if task not in snapshot.tasks:  # the type's requirements choose (capability level)
            wanted = merge_requirements(wanted, TASK_TYPE_REQUIREMENTS.get(task, {}))
    stored = snapshot.tasks.get(task) if task else None
    effective = strategy or (stored.strategy if stored else "failover")
    if effective == "weighted" and not request_id and not explain_only:
        request_id = uuid.uuid4().hex  # else every anonymous request would land on one arm
    request = ResolveRequest(
        persona=persona,
        task=task,
        override=override,
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


def unusable_override(resolution: Resolution) -> str | None:
    """Why a reference the request asked for cannot serve, or None. Interfaces refuse such a
    request rather than let the engine quietly route around what the caller named."""
    for drop in resolution.dropped:
        if drop.level == Level.OVERRIDE and drop.reason != DropReason.DUPLICATE:
            return f"{drop.reference} cannot serve ({drop.reason}: {drop.detail})"
    return None


def rotation(persona: PersonaProfile | None, task: str | None, *, advance: bool = True) -> int:
    """A counter every process shares, so round-robin rotates across the whole fleet."""
    key = ROTATION_KEY.format(persona=persona.slug if persona else "", task=task or "")
    if not advance:
        return cache.get(key, 0) + 1  # the value the next request will get
    try:
        return cache.incr(key)
    except ValueError:  # first use, or expired: create it; a racing process may have done so first
        cache.add(key, 0, timeout=ROTATION_TTL_S)
        return cache.incr(key)


# ---- the boundary: what callers may pass ----------------------------------------------


def _handles(value: str | Sequence[str]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(h, str) and h.strip() for h in items):
        raise QfError("must be provider:model handles or provider names", field="override")
    return tuple(h.strip() for h in items)


def _requirements(value: Mapping[str, int] | None) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(name, str) and type(strength) is int and 0 <= strength < len(STRENGTH_NAMES)
        for name, strength in value.items()
    ):
        raise QfError(f"must map capability names to strengths 0..{len(STRENGTH_NAMES) - 1}", field="requirements")
    return dict(value)


def _check(task: object, strategy: object, modality: object, **sizes: object) -> None:
    if task is not None and not (isinstance(task, str) and task):
        raise QfError("must be a task name", field="task")
    if strategy is not None and strategy not in STRATEGIES:
        raise QfError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}", field="strategy")
    if modality is not None and modality not in Modality.values:
        raise QfError(f"unknown modality {modality!r}; expected one of {', '.join(Modality.values)}", field="modality")
    for field, size in sizes.items():
        if type(size) is not int or size < 0:
            raise QfError("must be a whole number, 0 or more", field=field)
