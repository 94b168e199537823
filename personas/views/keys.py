"""API key pages: the list (active or revoked), issuing a key and revoking one.

A new key's plaintext is in the answer to the POST that issued it and nowhere else: not in a
redirect, a message or the session; `personas.keys` keeps only its prefix and hash.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from pydantic import ValidationError

from personas.api.keys import scope_rows
from personas.keys import api_key_issue, api_key_revoke
from personas.models import ApiKey, Persona
from personas.schemas.keys import KeyIn
from qfweb.errors import FieldErrors, QfError
from qfweb.pages import (
    HtmxHttpRequest,
    field_errors,
    paginate,
    query_without_page,
    render_page,
    staff_page,
)
from routing.models import Task

FORM = "personas/key_form.html"
STATUSES = {"active": {"revoked_at__isnull": True}, "revoked": {"revoked_at__isnull": False}}
CHECKBOXES = ("all_personas", "all_tasks", "may_override", "may_write")


@staff_page
def key_list(request: HtmxHttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    keys = (
        ApiKey.objects.select_related("created_by")
        .prefetch_related("personas", "tasks")
        .filter(**STATUSES.get(status, {}))  # an unknown status filters nothing
        .order_by("-created_at", "-id")
    )
    context = {
        "section": "keys", "status": status if status in STATUSES else "",
        "page_obj": paginate(request, keys), "query": query_without_page(request),
    }
    return render_page(request, "personas/key_list.html", context, partial="table")


@staff_page
def key_new(request: HtmxHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render_page(request, FORM, _context(None))
    try:
        payload, personas, tasks = _key_input(request.POST)
    except QfError as error:
        errors = field_errors(error)
        context = _context(request.POST) | {"errors": errors}
        return render_page(request, FORM, context, partial="form", status=422)
    fields = payload.model_dump(exclude={"personas", "tasks"})
    issued = api_key_issue(**fields, personas=personas, tasks=tasks, created_by=request.user)
    context = {"section": "keys", "key": issued.api_key, "plaintext": issued.plaintext}
    response = render_page(request, FORM, context, partial="created", status=201)
    add_never_cache_headers(response)  # the plaintext must not come back from a cache
    return response


@staff_page
def key_revoke(request: HtmxHttpRequest, key_id: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=key_id)
    if request.method != "POST":
        return render_page(request, "personas/key_revoke.html", {"section": "keys", "key": api_key})
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked key {api_key.name} ({api_key.prefix}…).")
    return HttpResponseRedirect(reverse("personas:keys"), status=303)


def _key_input(post: QueryDict) -> tuple[KeyIn, list[Persona], list[Task]]:
    """The form read as the API reads a key (KeyIn), so both refuse the same input."""
    data: dict[str, Any] = {
        "name": post.get("name", "").strip(),
        "personas": post.getlist("personas"),
        "tasks": post.getlist("tasks"),
        "rate_limit_rpm": post.get("rate_limit_rpm", "").strip() or None,
        "monthly_budget": post.get("monthly_budget", "").strip() or None,
        **{box: box in post for box in CHECKBOXES},
    }
    payload, problems = None, []
    try:
        payload = KeyIn.model_validate(data)
    except ValidationError as exc:
        for each in exc.errors():
            field = ".".join(str(part) for part in each["loc"])
            problems.append(QfError(each["msg"], field=field))
    try:
        personas, tasks = scope_rows(data["personas"], data["tasks"])
    except FieldErrors as exc:
        problems += exc.errors
    if problems or payload is None:
        raise FieldErrors(problems)
    return payload, personas, tasks


def _context(post: QueryDict | None) -> dict[str, Any]:
    texts = ("name", "rate_limit_rpm", "monthly_budget")
    form: dict[str, Any] = {key: "" if post is None else post.get(key, "") for key in texts}
    form |= {box: post is not None and box in post for box in CHECKBOXES}
    for many in ("personas", "tasks"):
        form[many] = [] if post is None else post.getlist(many)
    return {
        "section": "keys",
        "form": form,
        "errors": {},
        "personas": Persona.objects.values_list("slug", flat=True),
        "tasks": Task.objects.values_list("name", flat=True),
    }


urlpatterns = [
    path("keys/", key_list, name="keys"),
    path("keys/new/", key_new, name="key_new"),
    path("keys/<int:key_id>/revoke/", key_revoke, name="key_revoke"),
]
