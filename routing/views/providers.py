"""Provider pages: the list with live health, and one provider with its models, its health
history, "check now" and its operational settings (issue 7, item 4).

Credentials are write-only (DESIGN.md): these pages say whether one is set and where it comes
from, never its value, and offer no way to edit it (the admin does).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from qfweb.errors import QfError
from qfweb.pages import (
    HtmxHttpRequest,
    field_errors,
    paginate,
    query_without_page,
    render_page,
    staff_page,
    toast,
)
from routing import health
from routing.models import HealthCheck, Provider
from routing.selectors import model_choices
from routing.services import Problems, provider_upsert
from routing.views.forms import clean, read_int
from routing.views.models import provider_or_404

DETAIL = "routing/provider_detail.html"


def credential_text(provider: Provider) -> str:
    """Where the provider's key comes from, in words; never the key."""
    if provider.credential_ref:
        also = " (a stored key is also set; the reference wins)"
        return f"from {provider.credential_ref}{also if provider.credential_encrypted else ''}"
    return "set (stored encrypted)" if provider.credential_encrypted else "not set"


@staff_page
def provider_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = Provider.objects.annotate(model_count=Count("models")).order_by("name")
    context = {
        "section": "providers",
        "page_obj": paginate(request, rows),
        "query": query_without_page(request),
    }
    return render_page(request, "routing/provider_list.html", context, partial="providers")


# ---- one provider ---------------------------------------------------------------------


def _settings_form(provider: Provider) -> dict[str, Any]:
    default = provider.default_model
    return {
        "is_enabled": provider.is_enabled,
        "timeout_s": str(provider.timeout_s),
        "rate_limit_rpm": "" if provider.rate_limit_rpm is None else str(provider.rate_limit_rpm),
        "default_model": f"{provider.name}:{default.name}" if default else "",
    }


def _posted_form(post: QueryDict) -> dict[str, Any]:
    return {
        "is_enabled": post.get("is_enabled") == "on",
        "timeout_s": clean(post.get("timeout_s")),
        "rate_limit_rpm": clean(post.get("rate_limit_rpm")),
        "default_model": clean(post.get("default_model")),
    }


def _context(
    request: HtmxHttpRequest,
    provider: Provider,
    form: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    checks = HealthCheck.objects.filter(provider=provider).select_related("model")
    checks = checks.order_by("-checked_at", "-id")
    # The picker groups by provider: keep only this provider's group (its models).
    choices = [group for group in model_choices() if group[0] == provider.name]
    return {
        "section": "providers",
        "provider": provider,
        "credential": credential_text(provider),
        "models": provider.models.order_by("name"),
        "page_obj": paginate(request, checks),
        "query": query_without_page(request),
        "form": form or _settings_form(provider),
        "errors": errors or {},
        "choices": choices,
    }


@staff_page
@require_http_methods(["GET", "POST"])
def provider_detail(request: HtmxHttpRequest, name: str) -> HttpResponse:
    provider = provider_or_404(name)
    if request.method == "POST":
        return _save_settings(request, provider)
    # htmx asks this URL only for another page of the health history.
    return render_page(request, DETAIL, _context(request, provider), partial="health")


def _save_settings(request: HtmxHttpRequest, provider: Provider) -> HttpResponse:
    form = _posted_form(request.POST)
    problems = Problems()
    model = form["default_model"]
    data = {
        "is_enabled": form["is_enabled"],
        "timeout_s": read_int(form, "timeout_s", problems, low=1, required=True),
        "rate_limit_rpm": read_int(form, "rate_limit_rpm", problems),
        # The picker sends a handle; the service wants the name at this provider.
        "default_model": model.removeprefix(f"{provider.name}:") if model else None,
    }
    try:
        problems.raise_if_any()
        provider_upsert(name=provider.name, data=data)
    except QfError as exc:
        context = _context(request, provider, form, field_errors(exc))
        return render_page(request, DETAIL, context, partial="settings", status=422)
    provider.refresh_from_db()
    if not request.htmx:
        messages.success(request, f"Saved {provider.name}.")
        return HttpResponseRedirect(reverse("routing:provider", args=[provider.name]), status=303)
    response = render_page(request, DETAIL, _context(request, provider), partial="settings")
    return toast(response, f"Saved {provider.name}.")


@staff_page
@require_POST
def provider_check(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """Probe the provider now. A probe never raises for what the provider does; a provider
    the checker cannot find (just deleted) is said so, not a 500."""
    provider = provider_or_404(name)
    try:
        state, level = health.check(provider.name).state, "success"
        message = f"{provider.name} is {state}."
    except QfError as exc:
        message, level = f"The check could not run: {exc.message}", "error"
    if not request.htmx:
        (messages.success if level == "success" else messages.error)(request, message)
        return HttpResponseRedirect(reverse("routing:provider", args=[provider.name]), status=303)
    provider.refresh_from_db()
    response = render_page(request, DETAIL, _context(request, provider), partial="health")
    return toast(response, message, level=level)


urlpatterns = [
    path("providers/", provider_list, name="providers"),
    path("providers/<str:name>/", provider_detail, name="provider"),
    path("providers/<str:name>/check/", provider_check, name="provider_check"),
]
