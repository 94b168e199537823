"""Task pages: the list, and one form to create or edit a task with its primary model,
ordered fallbacks, capability requirements, strategy and default parameters; the saved task's
resolved chain beside it (issue 7, item 4).

The row buttons (move a fallback, add or remove a row) post the whole form and get it back
changed but not stored, so they work without JavaScript; only Save writes.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, QueryDict
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from qfweb.errors import QfError
from qfweb.pages import (
    HtmxHttpRequest,
    field_errors,
    json_object,
    move_or_remove,
    paginate,
    query_without_page,
    redirect_after_write,
    render_page,
    staff_page,
    toast,
)
from routing.choices import Modality, Strategy
from routing.models import Capability, Task, TaskFallback, TaskRequirement
from routing.resolution import resolve_live
from routing.resolve import Resolution
from routing.selectors import model_choices
from routing.services import Problems, task_upsert
from routing.views.forms import (
    STRENGTHS,
    clean,
    row_op,
    rows_to_mapping,
    rows_with_errors,
    strength_rows,
)

FORM = "routing/task_form.html"
BLANK_REQUIREMENT = {"capability": "", "strength": "moderate"}


def with_chains(tasks: Any) -> Any:
    """Primary, fallbacks and requirements in three queries however many tasks there are."""
    fallbacks = TaskFallback.objects.select_related("model__provider")
    requirements = TaskRequirement.objects.select_related("capability")
    return tasks.select_related("primary__provider").prefetch_related(
        Prefetch("fallbacks", queryset=fallbacks), Prefetch("requirements", queryset=requirements)
    )


@staff_page
def task_list(request: HtmxHttpRequest) -> HttpResponse:
    context = {
        "section": "tasks",
        "page_obj": paginate(request, with_chains(Task.objects.order_by("name"))),
        "query": query_without_page(request),
    }
    return render_page(request, "routing/task_list.html", context, partial="tasks")


# ---- the form -------------------------------------------------------------------------


def task_or_404(name: str) -> Task:
    task = with_chains(Task.objects.filter(name=name)).first()
    if task is None:
        raise Http404(f"unknown task {name!r}")
    return task


def _stored_form(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "description": task.description,
        "modality": task.modality,
        "primary": task.primary.handle if task.primary else "",
        "fallbacks": [f.model.handle for f in task.fallbacks.all()],
        "new_fallback": "",
        "requirements": [
            {"capability": r.capability.name, "strength": STRENGTHS[r.min_strength]}
            for r in task.requirements.all()
        ],
        "strategy": task.strategy,
        "default_params": json.dumps(task.default_params, indent=2),
    }


def _blank_form() -> dict[str, Any]:
    return {
        "name": "", "description": "", "modality": Modality.TEXT, "primary": "",
        "fallbacks": [], "new_fallback": "", "requirements": [],
        "strategy": Strategy.FAILOVER, "default_params": "{}",
    }


def _posted_form(post: QueryDict) -> dict[str, Any]:
    keys = ("name", "description", "modality", "primary", "new_fallback", "strategy")
    form: dict[str, Any] = {key: clean(post.get(key)) for key in keys}
    form["fallbacks"] = [handle for handle in map(clean, post.getlist("fallbacks")) if handle]
    form["requirements"] = strength_rows(post, "req_cap", "req_strength")
    form["default_params"] = post.get("default_params") or ""
    return form


def _apply(op: str, form: dict[str, Any]) -> None:
    """A row button: move, add or remove a fallback, or add or remove a requirement row."""
    fallbacks = form["fallbacks"]
    if op == "add_fallback":
        if form["new_fallback"] and form["new_fallback"] not in fallbacks:
            fallbacks.append(form["new_fallback"])
        form["new_fallback"] = ""
        return
    if not move_or_remove(fallbacks, op, remove="remove_fallback"):
        row_op(op, form["requirements"], "add_req", "remove_req", dict(BLANK_REQUIREMENT))


def _task_data(form: dict[str, Any], problems: Problems) -> dict[str, Any]:
    params = problems.attempt("default_params", json_object, form["default_params"]) or {}
    return {
        "description": form["description"],
        "modality": form["modality"],
        "primary": form["primary"] or None,
        "fallbacks": form["fallbacks"],
        "requirements": rows_to_mapping(form["requirements"], "requirements", problems),
        "strategy": form["strategy"],
        "default_params": params,
    }


def _chain(task: Task | None) -> Resolution | None:
    """The saved task's chain as the resolver explains it (no persona, no request)."""
    if task is None:
        return None
    try:
        return resolve_live(task=task.name, explain_only=True)
    except QfError:
        return None


def _context(
    task: Task | None,
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    dirty: bool = False,
) -> dict[str, Any]:
    errors = errors or {}
    modality = form["modality"] if form["modality"] in Modality.values else Modality.TEXT
    # The service names a list item `fallbacks[i]` (routing.services.base.parse_handles).
    fallbacks = [
        {"handle": handle, "errors": errors.get(f"fallbacks[{i}]", [])}
        for i, handle in enumerate(form["fallbacks"])
    ]
    requirements = rows_with_errors(form["requirements"], "requirements", errors)
    return {
        "section": "tasks",
        "task": task,
        "action": reverse("routing:task", args=[task.name]) if task else reverse("routing:task_new"),
        "form": {**form, "fallbacks": fallbacks, "requirements": requirements},
        "errors": errors,
        "dirty": dirty,
        "choices": model_choices(modality),
        "modalities": Modality.values,
        "strategies": Strategy.values,
        "capability_names": Capability.objects.values_list("name", flat=True).order_by("name"),
        "strengths": STRENGTHS,
        "resolution": _chain(task),
    }


@staff_page
@require_http_methods(["GET", "POST"])
def task_edit(request: HtmxHttpRequest, name: str) -> HttpResponse:
    task = task_or_404(name)
    if request.method == "GET":
        return render_page(request, FORM, _context(task, _stored_form(task)))
    return _post(request, task)


@staff_page
@require_http_methods(["GET", "POST"])
def task_new(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_page(request, FORM, _context(None, _blank_form()))
    return _post(request, None)


def _post(request: HtmxHttpRequest, task: Task | None) -> HttpResponse:
    form = _posted_form(request.POST)
    if task is not None:
        form["name"] = task.name  # the URL names the task; a rename is not offered
    op = request.POST.get("op", "save")
    if op != "save":
        _apply(op, form)
        return render_page(request, FORM, _context(task, form, dirty=True), partial="editor")
    problems = Problems()
    data = _task_data(form, problems)
    if task is None and Task.objects.filter(name=form["name"]).exists():
        problems.add("name", f"a task called {form['name']!r} exists; edit it instead")
    try:
        problems.raise_if_any()
        saved = task_upsert(name=form["name"], data=data).obj
    except QfError as exc:
        context = _context(task, form, field_errors(exc))
        return render_page(request, FORM, context, partial="editor", status=422)
    return _saved(request, saved.name, created=task is None)


def _saved(request: HtmxHttpRequest, name: str, *, created: bool) -> HttpResponse:
    message = f"Saved task {name}."
    if created or not request.htmx:  # a new task gets its own URL
        messages.success(request, message)
        return redirect_after_write(request, reverse("routing:task", args=[name]))
    task = task_or_404(name)
    response = render_page(request, FORM, _context(task, _stored_form(task)), partial="editor")
    return toast(response, message)


urlpatterns = [
    path("tasks/", task_list, name="tasks"),
    path("tasks/new/", task_new, name="task_new"),
    path("tasks/<str:name>/", task_edit, name="task"),
]
