"""Writes to the persona store: personas and scenarios (STYLE B-7).

`persona_apply` takes the plain dict `personas.history.persona_snapshot` produces, so the
change history, the export and the import share one shape, and reverting to a recorded
change is `persona_apply(data=change.snapshot, ...)`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from personas.history import persona_record_change, persona_snapshot
from personas.modality import detect_modality
from personas.models import Persona, PersonaFallback, PersonaTaskOverride, Scenario, ScenarioModel
from qfweb.errors import Conflict, QfError
from routing.choices import Modality
from routing.models import Model
from routing.providers import KINDS
from routing.selectors import model_find, provider_find, task_find
from routing.services import Problems, Upserted
from routing.services.base import check_params, coerce, parse_handles, save_checked

PERSONA_KEYS = (
    "slug",
    "name",
    "description",
    "modality",
    "system_prompt",
    "model",
    "provider",
    "fallbacks",
    "params",
    "task_overrides",
    "is_enabled",
)
SCENARIO_KEYS = ("name", "description", "group_size", "distribution")


def _blank_snapshot(slug: str) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": "",
        "description": "",
        "modality": "",
        "system_prompt": "",
        "model": None,
        "provider": None,
        "fallbacks": [],
        "params": {},
        "task_overrides": {},
        "is_enabled": True,
    }


@transaction.atomic
def persona_apply(*, data: Mapping[str, Any], actor: str = "") -> Upserted[Persona]:
    """Create or update the persona `data["slug"]` names.

    Keys left out keep their stored values; `fallbacks` (ordered) and `task_overrides`, when
    given, replace the stored ones. Handles may name a provider by an alias; they are stored
    by the provider's name. Naming a model clears the provider and the other way round.
    """
    problems = Problems()
    problems.unknown_keys(data, PERSONA_KEYS)
    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        raise QfError("must be the persona's name", field="slug")
    persona = Persona.objects.filter(slug=slug).first()
    current = persona_snapshot(persona) if persona else None
    target = _target(data, current or _blank_snapshot(slug), problems)
    problems.raise_if_any()
    # Whole snapshots compare: unchanged here means no history row and no write either.
    if target == current:
        return Upserted(persona, "unchanged")
    persona = _write(persona or Persona(slug=slug), target, problems)
    action = "created" if current is None else "updated"
    persona_record_change(persona=persona, action=action, actor=actor)
    return Upserted(persona, action)


def _target(data: Mapping[str, Any], base: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """The snapshot the persona will have after `data` is applied, with canonical handles."""
    target, blank = dict(base), Persona(slug=base["slug"])
    for key in ("name", "description", "system_prompt", "is_enabled"):
        if key in data:
            field = Persona._meta.get_field(key)
            target[key] = problems.attempt(key, coerce, field, data[key], blank)
    if data.get("modality"):
        if data["modality"] in Modality.values:
            target["modality"] = data["modality"]
        else:
            problems.add("modality", f"must be one of: {', '.join(Modality.values)}")
    target["modality"] = target["modality"] or detect_modality(base["slug"])
    modality = target["modality"]
    if "model" in data or "provider" in data:
        target["model"], target["provider"] = _model_or_provider(data, modality, problems)
    if "fallbacks" in data:
        models = parse_handles(data["fallbacks"], "fallbacks", modality, problems)
        target["fallbacks"] = [m.handle for m in models]
    if "params" in data:
        target["params"] = data["params"]
    check_params(modality, target["params"], "params", problems)
    if "task_overrides" in data:
        target["task_overrides"] = _overrides(data["task_overrides"], problems)
    return target


def _model_or_provider(
    data: Mapping[str, Any], modality: str, problems: Problems
) -> tuple[str | None, str | None]:
    handle, name = data.get("model"), data.get("provider")
    # A persona names a model, or a provider (its default model), or neither (the defaults).
    if handle is not None and name is not None:
        problems.add("provider", "set a model or a provider, not both")
        return None, None
    if handle is not None:
        model = problems.attempt("model", model_find, handle)
        if model is not None and model.modality != modality:
            message = f"{model.handle} is a {model.modality} model; this persona is {modality}"
            problems.add("model", message)
        return (model.handle if model else None), None
    if name is not None:
        provider = problems.attempt("provider", provider_find, name)
        if provider is not None and modality not in KINDS[provider.kind].modalities:
            problems.add("provider", f"{provider.name} ({provider.kind}) does not serve {modality}")
        return None, (provider.name if provider else None)
    return None, None


def _overrides(value: Any, problems: Problems) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        problems.add("task_overrides", "must map task names to {model, params}")
        return {}
    result = {}
    for task_name, override in value.items():
        field = f"task_overrides.{task_name}"
        if not isinstance(override, Mapping) or "model" not in override:
            problems.add(field, "must be an object with a model (and optional params)")
            continue
        problems.unknown_keys(override, ("model", "params"), under=field)
        task = problems.attempt(field, task_find, task_name)
        model = problems.attempt(f"{field}.model", model_find, override["model"])
        if task is None or model is None:
            continue
        if model.modality != task.modality:
            kinds = f"{model.modality} model; task {task.name} is {task.modality}"
            problems.add(f"{field}.model", f"{model.handle} is a {kinds}")
        params = {} if override.get("params") is None else override["params"]
        check_params(task.modality, params, f"{field}.params", problems)
        result[task.name] = {"model": model.handle, "params": params}
    return result


def _write(persona: Persona, target: dict[str, Any], problems: Problems) -> Persona:
    for key in ("name", "description", "modality", "system_prompt", "params", "is_enabled"):
        setattr(persona, key, target[key])
    persona.model = model_find(target["model"]) if target["model"] else None
    persona.provider = provider_find(target["provider"]) if target["provider"] else None
    save_checked(persona, problems)
    persona.fallbacks.all().delete()
    PersonaFallback.objects.bulk_create(
        PersonaFallback(persona=persona, model=model_find(h), position=i)
        for i, h in enumerate(target["fallbacks"], start=1)
    )
    persona.task_overrides.all().delete()
    PersonaTaskOverride.objects.bulk_create(
        PersonaTaskOverride(
            persona=persona, task=task_find(task), model=model_find(o["model"]), params=o["params"]
        )
        for task, o in target["task_overrides"].items()
    )
    return persona


@transaction.atomic
def persona_delete(*, persona: Persona, actor: str = "") -> None:
    """Delete a persona, keeping its last configuration in the history so it can be restored."""
    persona_record_change(persona=persona, action="deleted", actor=actor)
    persona.delete()


# ---- scenarios ------------------------------------------------------------------------


def scenario_snapshot(scenario: Scenario) -> dict[str, Any]:
    """A scenario as plain data: the export writes this and scenario_apply reads it."""
    rows = scenario.distribution.select_related("model__provider")
    return {
        "name": scenario.name,
        "description": scenario.description,
        "group_size": scenario.group_size,
        "distribution": {row.model.handle: row.count for row in rows},
    }


@transaction.atomic
def scenario_apply(*, data: Mapping[str, Any]) -> Upserted[Scenario]:
    """Create or update a scenario. `distribution` maps handles to agent counts and replaces
    the stored one; the counts must add up to `group_size` (their sum when left out)."""
    problems = Problems()
    problems.unknown_keys(data, SCENARIO_KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise QfError("must be the scenario's name", field="name")
    scenario = Scenario.objects.filter(name=name).first()
    current = scenario_snapshot(scenario) if scenario else None
    target = current or {"name": name, "description": "", "group_size": None, "distribution": {}}
    target, blank = dict(target), Scenario(name=name)
    for key in ("description", "group_size"):
        if key in data:
            field = Scenario._meta.get_field(key)
            target[key] = problems.attempt(key, coerce, field, data[key], blank)
    if "distribution" in data:
        target["distribution"] = _distribution(data["distribution"], problems)
    _check_sum(target, problems)
    problems.raise_if_any()
    if target == current:
        return Upserted(scenario, "unchanged")
    scenario = scenario or blank
    scenario.description, scenario.group_size = target["description"], target["group_size"]
    save_checked(scenario, problems)
    scenario.distribution.all().delete()
    ScenarioModel.objects.bulk_create(
        ScenarioModel(scenario=scenario, model=model_find(handle), count=count)
        for handle, count in target["distribution"].items()
    )
    return Upserted(scenario, "created" if current is None else "updated")


def _distribution(value: Any, problems: Problems) -> dict[str, int]:
    if not isinstance(value, Mapping) or not value:
        problems.add("distribution", "must map provider:model handles to agent counts")
        return {}
    result: dict[str, int] = {}
    for handle, count in value.items():
        field = f"distribution.{handle}"
        model: Model | None = problems.attempt(field, model_find, handle)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            problems.add(field, "must be a positive whole number of agents")
        elif model is not None and model.handle in result:  # an alias and the name, say
            problems.add(field, f"{model.handle} is listed twice")
        elif model is not None:
            result[model.handle] = count
    return result


def _check_sum(target: dict[str, Any], problems: Problems) -> None:
    """Counts must add up to the group size (source document 001's distribution validator)."""
    if any((e.field or "").startswith(("distribution", "group_size")) for e in problems.errors):
        return  # the sum of a distribution with errors says nothing
    total, size = sum(target["distribution"].values()), target["group_size"]
    if not target["distribution"]:
        problems.add("distribution", "must name at least one model")
    elif size is None:
        target["group_size"] = total
    elif total != size:
        message = f"scenario {target['name']} assigns {total} agents, but its group_size is {size}"
        problems.add("distribution", message)


@transaction.atomic
def scenario_delete(*, scenario: Scenario) -> None:
    """Delete a scenario with its distribution (nothing else refers to a scenario)."""
    scenario.delete()


SEED_BITS = 63  # any seed drawn fits Scenario.last_seed, a signed 64-bit column
MAX_AGENTS = 100_000  # an assignment is built, stored and sent whole


@transaction.atomic
def scenario_assign(*, scenario: Scenario, seed: int | None = None) -> dict[str, Any]:
    """Give agents 1..group_size one model each, as many agents per model as the distribution
    says, in the order `random.Random(seed)` shuffles them into; a seed is drawn when none is
    given. The same seed over the same distribution gives the same assignment. The result is
    stored on the scenario and returned as {"scenario", "seed", "assigned_at", "assignment":
    [{"agent", "model"}, ...]}; Conflict when the counts do not add up to the group size
    or the group is larger than MAX_AGENTS."""
    rows = scenario.distribution.select_related("model__provider")
    # Sorted by handle: the shuffled list must not depend on row ids, which change each
    # time scenario_apply rewrites the distribution.
    counts = sorted((row.model.handle, row.count) for row in rows)
    total = sum(count for _, count in counts)
    if total != scenario.group_size:
        size = scenario.group_size
        message = f"scenario {scenario.name} assigns {total} agents, but its group_size is {size}"
        raise Conflict(message, field="distribution")
    if total > MAX_AGENTS:
        raise Conflict(f"at most {MAX_AGENTS} agents can be assigned at once", field="group_size")
    pool = [handle for handle, count in counts for _ in range(count)]
    if seed is None:
        seed = secrets.randbits(SEED_BITS)
    random.Random(seed).shuffle(pool)
    scenario.last_seed, scenario.assigned_at = seed, timezone.now()
    scenario.last_assignment = [{"agent": n, "model": h} for n, h in enumerate(pool, start=1)]
    scenario.save(update_fields=["last_seed", "last_assignment", "assigned_at"])
    return {
        "scenario": scenario.name,
        "seed": seed,
        "assigned_at": scenario.assigned_at,
        "assignment": scenario.last_assignment,
    }
