"""Tasks with their model chains and requirements, and the global default per modality."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from routing.models import Capability, Default, Model, Task, TaskFallback, TaskRequirement
from routing.selectors import model_find, model_or_default_find
from routing.services.base import (
    Problems,
    Upserted,
    assign_fields,
    check_params,
    finish_upsert,
    parse_handles,
    parse_strengths,
    save_checked,
)

TASK_FIELDS = (
    "description",
    "modality",
    "primary",
    "fallbacks",
    "requirements",
    "strategy",
    "default_params",
)
PLAIN_FIELDS = ("description", "modality", "strategy", "default_params")


@transaction.atomic
def task_upsert(
    *, name: str, data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> Upserted[Task]:
    """Create or update a task: `primary` is a handle (or null), `fallbacks` an ordered list of
    handles stored at positions 1..n, `requirements` maps capabilities to minimum strengths."""
    problems = Problems()
    problems.unknown_keys(data, TASK_FIELDS)
    task = Task.objects.filter(name=name).first()
    created = task is None
    if created:
        task, data = Task(name=name), {**(defaults or {}), **data}
    changed = assign_fields(task, data, PLAIN_FIELDS, problems)
    check_params(task.modality, task.default_params, "default_params", problems)
    if "primary" in data:
        handle = data["primary"]
        primary = None if handle is None else problems.attempt("primary", model_find, handle)
        changed |= task.primary_id != (primary.pk if primary else None)
        task.primary = primary
    fallbacks = requirements = None
    if "fallbacks" in data:
        fallbacks = parse_handles(data["fallbacks"], "fallbacks", task.modality, problems)
        stored = [] if created else [f.model_id for f in task.fallbacks.all()]
        changed |= stored != [m.pk for m in fallbacks]
    if "requirements" in data:
        current = {} if created else _stored_requirements(task)
        requirements = parse_strengths(data["requirements"], "requirements", current, problems)
        changed |= requirements != current
    result = finish_upsert(task, created, changed, problems)
    if result.outcome != "unchanged":
        _replace_chain(task, fallbacks, requirements)
    return result


def _stored_requirements(task: Task) -> dict[str, int]:
    return {
        r.capability.name: r.min_strength for r in task.requirements.select_related("capability")
    }


def _replace_chain(
    task: Task, fallbacks: list[Model] | None, requirements: dict[str, int] | None
) -> None:
    """Rewrite what was given: fallbacks at positions 1..n, requirements as listed."""
    # Delete and re-create: positions are unique per task, so renumbering in place collides.
    if fallbacks is not None:
        task.fallbacks.all().delete()
        TaskFallback.objects.bulk_create(
            TaskFallback(task=task, model=m, position=i) for i, m in enumerate(fallbacks, start=1)
        )
    if requirements is not None:
        task.requirements.all().delete()
        TaskRequirement.objects.bulk_create(
            TaskRequirement(task=task, capability=Capability.objects.get(name=n), min_strength=s)
            for n, s in requirements.items()
        )


@transaction.atomic
def default_set(*, modality: str, model: str) -> Upserted[Default]:
    """Make `model` (a handle, or a provider name meaning its default model) the global
    default for `modality` (resolution level 6)."""
    problems = Problems()
    target = problems.attempt("model", model_or_default_find, model)
    problems.raise_if_any()
    default = Default.objects.filter(modality=modality).first()
    if default is not None and default.model_id == target.pk:
        return Upserted(default, "unchanged")
    created = default is None
    default = default or Default(modality=modality)
    default.model = target
    save_checked(default, problems)
    return Upserted(default, "created" if created else "updated")
