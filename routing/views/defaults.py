"""The defaults page: per modality, the three levels that serve when nothing more specific
does (DESIGN.md resolution levels 5-7: environment, stored global default, built-in), which
of them serves now and why the others do not, and a form to set the stored one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from qfweb.errors import QfError
from qfweb.pages import HtmxHttpRequest, field_errors, render_page, staff_page, toast
from routing.choices import Modality
from routing.models import Default
from routing.resolution import resolve_live
from routing.resolve import Level
from routing.selectors import model_choices
from routing.services import default_set
from routing.views.forms import clean

TEMPLATE = "routing/defaults.html"


def _stored() -> dict[str, str]:
    return {d.modality: d.model.handle for d in Default.objects.select_related("model__provider")}


def _levels(modality: str, stored: dict[str, str]) -> list[dict[str, Any]]:
    """Each default level with its model and what the resolver makes of it: the first model
    of the chain serves; a later one is next in line; a dropped one says why."""
    resolution = resolve_live(modality=modality, explain_only=True)
    chain = [entry.level for entry in resolution.chain]
    dropped = {d.level: d.detail for d in resolution.dropped}
    configured = [
        (Level.ENV_DEFAULT, "5", "environment", settings.QF_DEFAULT_MODELS.get(modality),
         f"QF_DEFAULT_{modality.upper()}_MODEL"),
        (Level.GLOBAL_DEFAULT, "6", "stored global default", stored.get(modality), "set below"),
        (Level.BUILTIN, "7", "built-in", settings.QF_BUILTIN_MODELS.get(modality),
         "QF_BUILTIN_MODELS"),
    ]
    levels = []
    for level, number, label, handle, source in configured:
        if not handle:
            status, verdict = "not set", "unknown"
        elif level in chain:
            serves = chain.index(level) == 0
            status, verdict = ("serves", "healthy") if serves else ("next in line", "warn")
        elif level in dropped:
            status, verdict = f"skipped: {dropped[level]}", "bad"
        else:  # the resolver does not repeat a default already in the chain
            status, verdict = "same model as a level above", "unknown"
        levels.append({
            "number": number, "label": label, "handle": handle, "source": source,
            "status": status, "verdict": verdict,
        })
    return levels


Posted = tuple[str, str, dict[str, list[str]]]  # (modality, the model as posted, errors)


def _context(stored: dict[str, str], posted: Posted | None = None) -> dict[str, Any]:
    """The whole page; the form that was `posted` keeps what was sent, and its errors."""
    rows = []
    for modality in Modality.values:
        value, errors = stored.get(modality, ""), {}
        if posted and posted[0] == modality:
            value, errors = posted[1], posted[2]
        rows.append({
            "modality": modality, "value": value, "errors": errors,
            "choices": model_choices(modality), "levels": _levels(modality, stored),
        })
    shown = posted[0] if posted else None
    env_tasks = sorted(
        (f"QF_MODEL_{key.upper()}", handle) for key, handle in settings.QF_TASK_MODELS.items()
    )
    return {
        "section": "defaults",
        "rows": rows,
        # The row a form posted to: the partial htmx swaps in.
        "row": next((r for r in rows if r["modality"] == shown), rows[0]),
        "env_tasks": env_tasks,
        "multi_model": settings.QF_MULTI_MODEL,
    }


@staff_page
@require_http_methods(["GET", "POST"])
def defaults(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_page(request, TEMPLATE, _context(_stored()))
    modality, model = clean(request.POST.get("modality")), clean(request.POST.get("model"))
    if modality not in Modality.values:
        return HttpResponseBadRequest("modality: must be one of text, image, audio")
    try:
        if not model:
            raise QfError("choose a model", field="model")
        default_set(modality=modality, model=model)
    except QfError as exc:
        context = _context(_stored(), (modality, model, field_errors(exc)))
        return render_page(request, TEMPLATE, context, partial="default_row", status=422)
    stored = _stored()
    message = f"The stored {modality} default is now {stored[modality]}."
    if not request.htmx:
        messages.success(request, message)
        return HttpResponseRedirect(reverse("routing:defaults"), status=303)
    context = _context(stored, (modality, stored[modality], {}))
    return toast(render_page(request, TEMPLATE, context, partial="default_row"), message)


urlpatterns = [path("defaults/", defaults, name="defaults")]
