"""What every dashboard page shares (STYLE B-17, B-18): the staff gate, rendering a page or
one of its partials, pagination, and turning a domain error into inline form errors.

A page view renders its own template; when htmx asks (`request.htmx`) it renders only the
named partial of that template (`template#partial`). A form that cannot be stored re-renders
with status 422, which the htmx config in base.html swaps like a success.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event
from django_htmx.middleware import HtmxDetails

from qfweb.errors import FieldErrors, QfError

PAGE_SIZE = 25


class HtmxHttpRequest(HttpRequest):
    """A request as the dashboard's views see it (django-htmx's typing recipe)."""

    htmx: HtmxDetails


def _is_staff(user: Any) -> bool:
    return user.is_active and user.is_staff


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages need a logged-in staff user; anyone else is sent to the login page (which
    says why when the user is logged in but not staff). An htmx request (a poll, a form)
    whose session ended is sent there as a whole page, not a login form swapped into a
    fragment."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _is_staff(request.user):
            login = redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            response = HttpResponseClientRedirect(login["Location"]) if request.htmx else login
        else:
            response = view(request, *args, **kwargs)
        # One URL answers a whole page or a partial: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request",))
        return response

    return wrapper


def render_page(
    request: HtmxHttpRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only `partial` of it when htmx asked for a fragment (not when it
    restores a page missing from its history cache: that needs the whole page)."""
    fragment = partial and request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if fragment else template
    return render(request, name, context, status=status)


def paginate(request: HttpRequest, rows: QuerySet | list, per_page: int = PAGE_SIZE) -> Page:
    """One page of `rows`, by the `page` query parameter (out of range gives the last)."""
    return Paginator(rows, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current filters as a query string, for pagination links to keep."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def field_errors(error: QfError) -> dict[str, list[str]]:
    """Messages by field, for showing each beside its input; `form` for the rest (a
    template cannot read a name that starts with an underscore, such as Django's `__all__`).

    Nested fields (`fallbacks.2`, `fallbacks[2]`, `task_overrides.review.model`) are kept
    whole and also filed under their first part, so a template can show them at the input
    they came from.
    """
    errors = error.errors if isinstance(error, FieldErrors) else [error]
    found: dict[str, list[str]] = defaultdict(list)
    for each in errors:
        field = each.field or "form"
        found[field].append(each.message)
        head, _, rest = _NESTED.match(field).groups()
        if rest:
            found[head].append(f"{rest.rstrip(']')}: {each.message}")
    return dict(found)


_NESTED = re.compile(r"([^.\[]*)([.\[]?)(.*)")


def toast(response: HttpResponse, message: str, *, level: str = "success") -> HttpResponse:
    """A flash message shown by dashboard.js when htmx receives the response."""
    return trigger_client_event(response, "qf:toast", {"message": message, "level": level})
