"""Scenarios under /api/: read by any caller, changed with the write scope, and assigned.

An assignment gives each agent of the group a model, shuffled by a seed that is stored and
returned with it, so a run can be repeated exactly (source document 001).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Status

from personas.models import Scenario, ScenarioModel
from personas.schemas.scenarios import (
    AssignIn,
    AssignmentOut,
    ScenarioIn,
    ScenarioOut,
    ScenarioPage,
    ScenarioPatch,
)
from personas.services import scenario_apply, scenario_assign, scenario_delete
from qfweb.errors import Conflict, NotFound
from qfweb.schemas import errors
from routing.access import require_catalog_write
from routing.schemas.catalog import NAME, PageQuery

router = Router(tags=["scenarios"])


def _scenario(name: str) -> Scenario:
    scenario = Scenario.objects.filter(name=name).first()
    if scenario is None:
        raise NotFound(f"unknown scenario {name!r}", field="scenario")
    return scenario


@router.get("/scenarios", response={200: ScenarioPage, **errors()}, summary="List scenarios")
def scenario_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    rows = ScenarioModel.objects.select_related("model__provider")
    return page.of(Scenario.objects.prefetch_related(Prefetch("distribution", queryset=rows)))


@router.post(
    "/scenarios", response={201: ScenarioOut, **errors(400, 403, 409)}, summary="Create a scenario"
)
def scenario_create(request: HttpRequest, payload: ScenarioIn) -> Status[Scenario]:
    require_catalog_write(request.auth)
    if Scenario.objects.filter(name=payload.name).exists():
        raise Conflict(f"scenario {payload.name!r} exists; PATCH it instead", field="name")
    return Status(201, scenario_apply(data=payload.model_dump(mode="json", exclude_unset=True)).obj)


@router.get("/scenarios/{name}", response={200: ScenarioOut, **errors(404)}, summary="One scenario")
def scenario_get(request: HttpRequest, name: str = NAME) -> Scenario:
    return _scenario(name)


@router.patch(
    "/scenarios/{name}",
    response={200: ScenarioOut, **errors(400, 403, 404)},
    summary="Change a scenario",
)
def scenario_update(request: HttpRequest, payload: ScenarioPatch, name: str = NAME) -> Scenario:
    require_catalog_write(request.auth)
    scenario = _scenario(name)
    data = {**payload.model_dump(mode="json", exclude_unset=True), "name": scenario.name}
    return scenario_apply(data=data).obj


@router.delete(
    "/scenarios/{name}", response={204: None, **errors(403, 404)}, summary="Delete a scenario"
)
def scenario_remove(request: HttpRequest, name: str = NAME) -> Status[None]:
    require_catalog_write(request.auth)
    scenario_delete(scenario=_scenario(name))
    return Status(204, None)


@router.post(
    "/scenarios/{name}/assign",
    response={200: AssignmentOut, **errors(400, 403, 404, 409)},
    summary="Assign the group's models to agents, shuffled by a seed (stored)",
)
def scenario_assign_models(
    request: HttpRequest, payload: AssignIn | None = None, name: str = NAME
) -> dict[str, Any]:
    require_catalog_write(request.auth)
    seed = payload.seed if payload else None
    return scenario_assign(scenario=_scenario(name), seed=seed)


@router.get(
    "/scenarios/{name}/assignment",
    response={200: AssignmentOut, **errors(404)},
    summary="The stored assignment, as a JSON download",
)
def scenario_assignment(
    request: HttpRequest, response: HttpResponse, name: str = NAME
) -> dict[str, Any]:
    scenario = _scenario(name)
    if scenario.last_assignment is None:
        raise NotFound(f"scenario {scenario.name} was never assigned", field="assignment")
    response["Content-Disposition"] = content_disposition_header(True, f"{scenario.name}-assignment.json")
    return {
        "scenario": scenario.name,
        "seed": scenario.last_seed,
        "assigned_at": scenario.assigned_at,
        "assignment": scenario.last_assignment,
    }
