"""The playground: run a generation as a persona and see who served it, how, and at what cost.

With JavaScript, qfweb/playground.js streams the reply from /api/personas/<slug>/generate,
where the staff session is a caller like a key. Without it the form posts here and the
generation runs whole, server-side, through the same checks (`personas.gateway.job_for`).
"""

from __future__ import annotations

import base64
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path

from personas.gateway import Ask, job_for
from personas.models import Persona
from qfweb.errors import FieldErrors, QfError
from qfweb.middleware import request_id_of
from qfweb.pages import HtmxHttpRequest, render_page, staff_page
from routing.access import Caller
from routing.engine import GenerationFailed, Job, Result, generate
from routing.models import Task
from routing.providers.base import Message
from routing.providers.clients import aclose_all
from routing.selectors import model_choices

TEMPLATE = "personas/playground.html"
INPUTS = ("prompt", "task", "override", "temperature", "max_tokens")
# Where the gateway's and the engine's fields are shown on this form.
SHOWN_AT = {
    "messages": "prompt",
    "params.temperature": "temperature",
    "params.max_tokens": "max_tokens",
}


@staff_page
def playground(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    persona = get_object_or_404(Persona, slug=slug)
    context = _context(persona, request.POST if request.method == "POST" else None)
    if request.method != "POST":
        return render_page(request, TEMPLATE, context)
    user = request.user
    caller = Caller.staff(user.get_username(), superuser=user.is_superuser)
    try:
        job = job_for(caller, _ask(persona, request.POST), request_id=request_id_of(request))
        result = generate_whole(job)
    except GenerationFailed as failed:  # recorded; the attempts say why
        context.update(failed=failed, attempts=failed.attempts, request_id=failed.request_id)
        return render_page(request, TEMPLATE, context, partial="result", status=failed.status)
    except QfError as error:
        context.update(_form_errors(error))
        return render_page(request, TEMPLATE, context, partial="form", status=422)
    context.update(_shown(result))
    return render_page(request, TEMPLATE, context, partial="result")


def generate_whole(job: Job) -> Result:
    """Run `job` to a whole reply from sync code. The loop is this call's own (the database
    work inside still runs in this thread), so its pooled upstream clients close with it."""

    async def run() -> Result:
        try:
            return await generate(job)
        finally:
            await aclose_all()

    return async_to_sync(run, force_new_loop=True)()


def _context(persona: Persona, data: QueryDict | None) -> dict[str, Any]:
    is_text = persona.modality == "text"
    form = {key: (data.get(key, "") if data is not None else "") for key in INPUTS}
    form["stream"] = ("stream" in data) if data is not None else is_text
    return {
        "section": "personas",
        "persona": persona,
        "is_text": is_text,
        "form": form,
        "tasks": Task.objects.filter(modality=persona.modality).values_list("name", flat=True),
        "model_choices": model_choices(persona.modality),
        "errors": {},
    }


def _ask(persona: Persona, data: QueryDict) -> Ask:
    params: dict[str, Any] = {}
    problems: list[QfError] = []
    for key, kind in (("temperature", float), ("max_tokens", int)):
        raw = data.get(key, "").strip()
        if not raw:
            continue
        try:
            params[key] = kind(raw)
        except ValueError:
            what = "a number" if kind is float else "a whole number"
            problems.append(QfError(f"must be {what}", field=key))
    if problems:
        raise FieldErrors(problems)
    override = data.get("override", "").strip()
    return Ask(
        messages=(Message("user", data.get("prompt", "")),),
        persona=persona.slug,
        task=data.get("task", "").strip() or None,
        params=params,
        override=(override,) if override else (),
    )


def _form_errors(error: QfError) -> dict[str, Any]:
    """Messages by input, and the rest (a disabled persona, a spent budget) for the top."""
    errors: dict[str, list[str]] = {}
    other: list[str] = []
    for each in error.errors if isinstance(error, FieldErrors) else [error]:
        shown_at = SHOWN_AT.get(each.field or "", each.field or "")
        if shown_at in INPUTS:
            errors.setdefault(shown_at, []).append(each.message)
        else:
            other.append(str(each))
    return {"errors": errors, "other_errors": other}


def _shown(result: Result) -> dict[str, Any]:
    output = result.output
    media = None
    if output.data is not None:
        media = f"data:{output.mime_type};base64,{base64.b64encode(output.data).decode()}"
    return {
        "result": result,
        "attempts": result.attempts,
        "request_id": result.request_id,
        "cost": None if result.cost is None else f"{result.cost.normalize():f}",
        "media": media,
        "media_kind": output.mime_type.partition("/")[0] if media else "",
    }


urlpatterns = [path("personas/<str:slug>/playground/", playground, name="playground")]
