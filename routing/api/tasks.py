"""Tasks and the global default models under /api/ (issue 5, item 4).

A key sees only the tasks in its scope: others answer exactly as missing ones (404), and
creating a task needs the all-tasks scope, as the new task would be outside any other.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from qfweb.errors import Conflict, NotFound
from qfweb.schemas import errors
from routing.access import Caller, check_task_visible, require_catalog_write
from routing.choices import Modality
from routing.models import Default, Task, TaskFallback, TaskRequirement
from routing.schemas.catalog import NAME, PageQuery
from routing.schemas.tasks import DefaultIn, DefaultOut, TaskIn, TaskOut, TaskPage, TaskPatch
from routing.services.catalog import task_delete
from routing.services.tasks import default_set, task_upsert

router = Router(tags=["tasks"])


def _with_chains(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """What TaskOut reads, in three queries however many tasks there are."""
    fallbacks = TaskFallback.objects.select_related("model__provider")
    requirements = TaskRequirement.objects.select_related("capability")
    return tasks.select_related("primary__provider").prefetch_related(
        Prefetch("fallbacks", queryset=fallbacks), Prefetch("requirements", queryset=requirements)
    )


def _tasks_for(caller: Caller) -> QuerySet[Task]:
    """The tasks a caller may see: `Caller.sees_task` as one query."""
    tasks = Task.objects.all()
    if caller.tasks is not None:
        tasks = tasks.filter(name__in=caller.tasks)
    return tasks


def _visible_task(caller: Caller, name: str) -> Task:
    check_task_visible(caller, name)
    task = _with_chains(Task.objects.filter(name=name)).first()
    if task is None:
        raise NotFound(f"unknown task {name!r}", field="task")
    return task


@router.get("/tasks", response={200: TaskPage, **errors()}, summary="The key's tasks")
def task_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    return page.of(_with_chains(_tasks_for(request.auth)))


@router.post("/tasks", response={201: TaskOut, **errors(400, 403, 409)}, summary="Create a task")
def task_create(request: HttpRequest, payload: TaskIn) -> Status[Task]:
    caller: Caller = request.auth
    require_catalog_write(caller)
    if Task.objects.filter(name=payload.name).exists():
        raise Conflict(f"task {payload.name!r} exists; PATCH it instead", field="name")
    data = payload.model_dump(mode="json", exclude_unset=True, exclude={"name"})
    return Status(201, task_upsert(name=payload.name, data=data).obj)


@router.get("/tasks/{name}", response={200: TaskOut, **errors(404)}, summary="One task")
def task_get(request: HttpRequest, name: str = NAME) -> Task:
    return _visible_task(request.auth, name)


@router.patch(
    "/tasks/{name}", response={200: TaskOut, **errors(400, 403, 404)}, summary="Change a task"
)
def task_update(request: HttpRequest, payload: TaskPatch, name: str = NAME) -> Task:
    task = _visible_task(request.auth, name)  # first: out of scope reads as missing
    require_catalog_write(request.auth)
    data = payload.model_dump(mode="json", exclude_unset=True)
    return task_upsert(name=task.name, data=data).obj


@router.delete(
    "/tasks/{name}", response={204: None, **errors(403, 404, 409)}, summary="Delete a task"
)
def task_remove(request: HttpRequest, name: str = NAME) -> Status[None]:
    task = _visible_task(request.auth, name)  # first: out of scope reads as missing
    require_catalog_write(request.auth)
    task_delete(task=task)
    return Status(204, None)


# ---- defaults -------------------------------------------------------------------------


@router.get(
    "/defaults",
    response={200: dict[str, str], **errors()},
    tags=["defaults"],
    summary="The stored default model per modality: {modality: handle}",
)
def default_list(request: HttpRequest) -> dict[str, str]:
    return {d.modality: d.model.handle for d in Default.objects.select_related("model__provider")}


@router.put(
    "/defaults/{modality}",
    response={200: DefaultOut, **errors(400, 403)},
    tags=["defaults"],
    summary="Set the default model of a modality",
)
def default_put(request: HttpRequest, modality: Modality, payload: DefaultIn) -> dict[str, str]:
    require_catalog_write(request.auth)
    default = default_set(modality=modality.value, model=payload.model).obj
    return {"modality": default.modality, "model": default.model.handle}
