"""Model pages: the filtered list, and one model's prices, limits and capabilities (issue 7,
item 4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from qfweb.errors import NotFound, QfError
from qfweb.pages import (
    HtmxHttpRequest,
    field_errors,
    paginate,
    query_without_page,
    render_page,
    staff_page,
    toast,
)
from routing.choices import Modality, Strength
from routing.models import Capability, Model, ModelCapability, Provider
from routing.selectors import provider_found
from routing.services import Problems, model_upsert
from routing.views.forms import (
    INT_MAX,
    SMALL_MAX,
    STRENGTHS,
    clean,
    plain,
    read_int,
    read_price,
    row_op,
    rows_to_mapping,
    rows_with_errors,
    strength_rows,
)

DETAIL = "routing/model_detail.html"
PRICES = ("input_price", "output_price", "image_price", "char_price")
BLANK_ROW = {"capability": "", "strength": "moderate"}


# ---- the list -------------------------------------------------------------------------


def price_lines(model: Model) -> list[str]:
    """The prices that apply, as the operator reads them."""
    lines = []
    if model.input_price is not None or model.output_price is not None:
        given = plain(model.input_price) or "?", plain(model.output_price) or "?"
        lines.append(f"in {given[0]} · out {given[1]} $/1M tokens")
    if model.image_price is not None:
        lines.append(f"{plain(model.image_price)} $/image")
    if model.char_price is not None:
        lines.append(f"{plain(model.char_price)} $/1k characters")
    return lines


def _filters(request: HtmxHttpRequest) -> dict[str, str]:
    """The filters as given; values that cannot match anything are dropped, not an error."""
    keys = ("provider", "modality", "capability", "strength", "enabled", "q")
    found = {key: clean(request.GET.get(key))[:200] for key in keys}
    if found["modality"] not in Modality.values:
        found["modality"] = ""
    if found["strength"] not in STRENGTHS:
        found["strength"] = ""
    if found["enabled"] not in ("yes", "no"):
        found["enabled"] = ""
    return found


def filtered_models(filters: Mapping[str, str]) -> QuerySet[Model]:
    """Models matching the filters, with what the list shows in a fixed number of queries."""
    links = ModelCapability.objects.select_related("capability")
    rows = Model.objects.select_related("provider").prefetch_related(
        Prefetch("capabilities", queryset=links)
    )
    if filters["provider"]:
        rows = rows.filter(provider__name=filters["provider"])
    if filters["modality"]:
        rows = rows.filter(modality=filters["modality"])
    if filters["capability"]:
        least = Strength.parse(filters["strength"] or "basic")
        rows = rows.filter(
            capabilities__capability__name=filters["capability"], capabilities__strength__gte=least
        )
    if filters["enabled"]:
        rows = rows.filter(is_enabled=filters["enabled"] == "yes")
    if filters["q"]:
        q = filters["q"]
        rows = rows.filter(
            Q(name__icontains=q) | Q(display_name__icontains=q) | Q(provider__name__icontains=q)
        )
    return rows.order_by("provider__name", "name")


@staff_page
def model_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = paginate(request, filtered_models(filters))
    for model in page:
        model.price_lines = price_lines(model)
    context = {
        "section": "models",
        "filters": filters,
        "page_obj": page,
        "query": query_without_page(request),
        "providers": Provider.objects.values_list("name", flat=True).order_by("name"),
        "capabilities": Capability.objects.values_list("name", flat=True).order_by("name"),
        "modalities": Modality.values,
        "strengths": STRENGTHS,
    }
    return render_page(request, "routing/model_list.html", context, partial="models")


# ---- one model ------------------------------------------------------------------------

# field: (largest value, required)
NUMBERS = {
    "context_window": (INT_MAX, False),
    "max_output_tokens": (INT_MAX, False),
    "weight": (SMALL_MAX, True),
}


def provider_or_404(name: str) -> Provider:
    """The provider called `name` (or aliased so) for a URL; a 404 otherwise."""
    try:
        return provider_found(name)
    except NotFound as exc:
        raise Http404(exc.message) from None


def model_or_404(provider: str, name: str) -> Model:
    owner = provider_or_404(provider)
    found = Model.objects.select_related("provider").filter(provider=owner, name=name).first()
    if found is None:
        raise Http404(f"unknown model {provider}:{name}")
    return found


def _stored_form(model: Model) -> dict[str, Any]:
    form: dict[str, Any] = {"display_name": model.display_name, "is_enabled": model.is_enabled}
    for field in NUMBERS:
        form[field] = "" if getattr(model, field) is None else str(getattr(model, field))
    form.update({field: plain(getattr(model, field)) for field in PRICES})
    links = model.capabilities.select_related("capability").order_by("capability__name")
    form["capabilities"] = [
        {"capability": mc.capability.name, "strength": STRENGTHS[mc.strength]} for mc in links
    ]
    return form


def _posted_form(post: QueryDict) -> dict[str, Any]:
    form: dict[str, Any] = {
        field: clean(post.get(field)) for field in (*NUMBERS, *PRICES, "display_name")
    }
    form["is_enabled"] = post.get("is_enabled") == "on"
    form["capabilities"] = strength_rows(post, "cap", "strength")
    return form


def _model_data(form: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    data: dict[str, Any] = {"display_name": form["display_name"], "is_enabled": form["is_enabled"]}
    for field, (high, required) in NUMBERS.items():
        data[field] = read_int(form, field, problems, high=high, required=required)
    data.update({field: read_price(form, field, problems) for field in PRICES})
    data["capabilities"] = rows_to_mapping(form["capabilities"], "capabilities", problems)
    return data


def _context(
    model: Model,
    form: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    dirty: bool = False,
) -> dict[str, Any]:
    errors = errors or {}
    rows = rows_with_errors(form["capabilities"], "capabilities", errors)
    return {
        "section": "models",
        "model": model,
        "form": {**form, "capabilities": rows},
        "errors": errors,
        "dirty": dirty,
        "capability_names": Capability.objects.values_list("name", flat=True).order_by("name"),
        "strengths": STRENGTHS,
    }


@staff_page
@require_http_methods(["GET", "POST"])
def model_detail(request: HtmxHttpRequest, provider: str, name: str) -> HttpResponse:
    model = model_or_404(provider, name)
    if request.method == "GET":
        return render_page(request, DETAIL, _context(model, _stored_form(model)))
    form = _posted_form(request.POST)
    op = request.POST.get("op", "save")
    if op != "save":  # a row button: show the form again, changed but not stored
        row_op(op, form["capabilities"], "add_cap", "remove_cap", dict(BLANK_ROW))
        return render_page(request, DETAIL, _context(model, form, dirty=True), partial="edit")
    return _save(request, model, form)


def _save(request: HtmxHttpRequest, model: Model, form: dict[str, Any]) -> HttpResponse:
    problems = Problems()
    data = _model_data(form, problems)
    try:
        problems.raise_if_any()
        model_upsert(provider=model.provider.name, name=model.name, data=data)
    except QfError as exc:
        context = _context(model, form, field_errors(exc))
        return render_page(request, DETAIL, context, partial="edit", status=422)
    model.refresh_from_db()
    message = f"Saved {model.handle}."
    if not request.htmx:
        messages.success(request, message)
        return HttpResponseRedirect(model_url(model), status=303)
    response = render_page(request, DETAIL, _context(model, _stored_form(model)), partial="edit")
    return toast(response, message)


def model_url(model: Model) -> str:
    return reverse("routing:model", args=[model.provider.name, model.name])


urlpatterns = [
    path("models/", model_list, name="models"),
    path("models/<str:provider>/<path:name>/", model_detail, name="model"),
]
