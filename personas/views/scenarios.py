"""Scenario pages: the list, create and edit with the model distribution, assignment (with
its JSON download) and delete. Every write goes through `personas.services`."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.http import content_disposition_header

from personas.models import Scenario, ScenarioModel
from personas.services import SEED_BITS, scenario_apply, scenario_assign, scenario_delete
from qfweb.errors import FieldErrors, QfError
from qfweb.pages import (
    HtmxHttpRequest,
    field_errors,
    paginate,
    query_without_page,
    redirect_after_write,
    render_page,
    staff_page,
    toast,
)
from routing.selectors import model_choices

FORM = "personas/scenario_form.html"
SHOWN_AGENTS = 100  # rows of an assignment shown on the page; the download has them all
EMPTY_ROW = {"model": "", "count": ""}


@staff_page
def scenario_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = ScenarioModel.objects.select_related("model__provider")
    scenarios = Scenario.objects.prefetch_related(Prefetch("distribution", queryset=rows))
    context = {
        "section": "scenarios",
        "page_obj": paginate(request, scenarios),
        "query": query_without_page(request),
    }
    return render_page(request, "personas/scenario_list.html", context, partial="table")


@staff_page
def scenario_new(request: HtmxHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render_page(request, FORM, _context(None, None, [dict(EMPTY_ROW)]))
    if Scenario.objects.filter(name=request.POST.get("name", "").strip()).exists():
        error = QfError("a scenario of this name exists; open it to change it", field="name")
        return _refused(request, None, _rows(request.POST), error)
    return _save(request, None)


@staff_page
def scenario_edit(request: HtmxHttpRequest, name: str) -> HttpResponse:
    scenario = get_object_or_404(Scenario, name=name)
    if request.method != "POST":
        return render_page(request, FORM, _stored_form(scenario))
    return _save(request, scenario)


@staff_page
def scenario_assign_page(request: HtmxHttpRequest, name: str) -> HttpResponse:
    scenario = get_object_or_404(Scenario, name=name)
    if request.method != "POST":
        return HttpResponseRedirect(reverse("personas:scenario", args=[scenario.name]))
    raw = request.POST.get("seed", "").strip()
    try:
        seed = _seed(raw)
        assigned = scenario_assign(scenario=scenario, seed=seed)
    except QfError as error:
        context = _stored_form(scenario) | {"seed": raw, "assign_errors": [error.message]}
        return render_page(request, FORM, context, partial="assignment", status=422)
    message = f"Assigned {scenario.group_size} agents with seed {assigned['seed']}."
    if not request.htmx:
        messages.success(request, message)
        return HttpResponseRedirect(reverse("personas:scenario", args=[name]), status=303)
    response = render_page(request, FORM, _stored_form(scenario), partial="assignment")
    return toast(response, message)


@staff_page
def scenario_assignment_json(request: HttpRequest, name: str) -> HttpResponse:
    scenario = get_object_or_404(Scenario, name=name)
    if scenario.last_assignment is None:
        raise Http404(f"scenario {scenario.name} was never assigned")
    body = {
        "scenario": scenario.name,
        "seed": scenario.last_seed,
        "assigned_at": scenario.assigned_at,
        "assignment": scenario.last_assignment,
    }
    text = json.dumps(body, cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(text, content_type="application/json")
    filename = f"{scenario.name}-assignment-{scenario.last_seed}.json"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@staff_page
def scenario_delete_page(request: HtmxHttpRequest, name: str) -> HttpResponse:
    scenario = get_object_or_404(Scenario, name=name)
    if request.method != "POST":
        context = {"section": "scenarios", "scenario": scenario}
        return render_page(request, "personas/scenario_delete.html", context)
    scenario_delete(scenario=scenario)
    messages.success(request, f"Deleted scenario {name}.")
    return redirect_after_write(request, reverse("personas:scenarios"))


# ---- the form: rows of (model, count), changed without saving by the row buttons ----------


def _save(request: HtmxHttpRequest, scenario: Scenario | None) -> HttpResponse:
    rows = _rows(request.POST)
    action = request.POST.get("row", "")
    if action == "add" or action.startswith("remove-"):
        if action == "add":
            rows.append(dict(EMPTY_ROW))
        rows = [row for index, row in enumerate(rows) if f"remove-{index}" != action]
        return render_page(request, FORM, _context(scenario, request.POST, rows), partial="form")
    try:
        data = _data(request.POST, rows, scenario)
        saved = scenario_apply(data=data).obj
    except QfError as error:
        return _refused(request, scenario, rows, error)
    messages.success(request, f"Saved scenario {saved.name}.")
    return redirect_after_write(request, reverse("personas:scenario", args=[saved.name]))


def _rows(post: QueryDict) -> list[dict[str, Any]]:
    models, counts = post.getlist("model"), post.getlist("count")
    counts += [""] * (len(models) - len(counts))
    return [{"model": m.strip(), "count": c.strip()} for m, c in zip(models, counts, strict=False)]


def _data(post: QueryDict, rows: list[dict[str, Any]], scenario: Scenario | None) -> dict[str, Any]:
    """What scenario_apply reads. A row without a model, a model twice or a count that is not
    a number cannot be said in its mapping: they are refused here, at their row."""
    problems, distribution = [], {}
    for index, row in enumerate(rows):
        model, count = row["model"], row["count"]
        if not model and not count:
            continue  # an empty row is no row
        if not model:
            problems.append(QfError("choose a model", field=f"row.{index}.model"))
        elif model in distribution:
            problems.append(QfError(f"{model} is listed twice", field=f"row.{index}.model"))
        if not (count.isdecimal() and int(count) > 0):
            message = "must be a positive whole number of agents"
            problems.append(QfError(message, field=f"row.{index}.count"))
        elif model and model not in distribution:
            distribution[model] = int(count)
    data: dict[str, Any] = {
        "name": scenario.name if scenario else post.get("name", "").strip(),
        "description": post.get("description", "").strip(),
        "distribution": distribution,
    }
    size = post.get("group_size", "").strip()
    if size.isdecimal():
        data["group_size"] = int(size)
    elif size or scenario is not None:
        problems.append(QfError("must be a whole number of agents", field="group_size"))
    if problems:
        raise FieldErrors(problems)
    return data


def _refused(
    request: HtmxHttpRequest, scenario: Scenario | None, rows: list[dict[str, Any]], error: QfError
) -> HttpResponse:
    """The form again with each message beside its input: a row's beside its row."""
    errors = field_errors(error)
    for index, row in enumerate(rows):
        at_model = errors.pop(f"distribution.{row['model']}", [])
        row["model_errors"] = errors.pop(f"row.{index}.model", []) + at_model
        row["count_errors"] = errors.pop(f"row.{index}.count", [])
    # field_errors also files a row's message under its head: it is shown at the row.
    at_rows = {f"{row['model']}: {m}" for row in rows for m in row["model_errors"]}
    errors["distribution"] = [m for m in errors.get("distribution", []) if m not in at_rows]
    errors.pop("row", None)
    context = _context(scenario, request.POST, rows) | {"errors": errors}
    return render_page(request, FORM, context, partial="form", status=422)


def _context(
    scenario: Scenario | None, post: QueryDict | None, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    if post is not None:
        form = {key: post.get(key, "") for key in ("name", "description", "group_size")}
    elif scenario is not None:
        form = {
            "name": scenario.name,
            "description": scenario.description,
            "group_size": scenario.group_size,
        }
    else:
        form = {"name": "", "description": "", "group_size": ""}
    return {
        "section": "scenarios",
        "scenario": scenario,
        "form": form,
        "rows": rows,
        "errors": {},
        "model_choices": model_choices(),
        "assignment": (scenario.last_assignment or [])[:SHOWN_AGENTS] if scenario else [],
        "assign_errors": [],
        "seed": "",
    }


def _stored_form(scenario: Scenario) -> dict[str, Any]:
    stored = scenario.distribution.select_related("model__provider")
    rows = [{"model": row.model.handle, "count": str(row.count)} for row in stored]
    return _context(scenario, None, rows)


def _seed(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdecimal() or int(raw) >= 2**SEED_BITS:
        raise QfError(f"must be a whole number from 0 to 2^{SEED_BITS} - 1", field="seed")
    return int(raw)


urlpatterns = [
    path("scenarios/", scenario_list, name="scenarios"),
    path("scenarios/new/", scenario_new, name="scenario_new"),
    path("scenarios/<str:name>/", scenario_edit, name="scenario"),
    path("scenarios/<str:name>/assign/", scenario_assign_page, name="scenario_assign"),
    path(
        "scenarios/<str:name>/assignment.json",
        scenario_assignment_json,
        name="scenario_assignment",
    ),
    path("scenarios/<str:name>/delete/", scenario_delete_page, name="scenario_delete"),
]
