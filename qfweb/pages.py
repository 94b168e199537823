"""What every dashboard page shares (STYLE B-17, B-18): the staff gate, rendering a page or
one of its partials, pagination, and turning a domain error into inline form errors.

A page view renders its own template; when htmx asks (`request.htmx`) it renders only the
named partial of that template (`template#partial`). A form that cannot be stored re-renders
with status 422, which the htmx config in base.html swaps like a success.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
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
        elif field := _nul_field(request, kwargs):
            # PostgreSQL refuses NUL in text (a 500 deep in a query): no page takes one.
            response = HttpResponseBadRequest(f"{field}: must not contain NUL characters")
        else:
            response = view(request, *args, **kwargs)
        # One URL answers a whole page or a partial: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request",))
        return response

    return wrapper


def _nul_field(request: HttpRequest, url_parts: Mapping[str, Any]) -> str | None:
    """The first URL part, query or form field holding a NUL character, if any."""
    for name, value in url_parts.items():
        if "\x00" in str(value):
            return name
    for values in (request.GET, request.POST):
        for name, items in values.lists():
            if "\x00" in name or any("\x00" in item for item in items):
                return name
    return None


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


def redirect_after_write(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """After a write: a real redirect (303), or for htmx a client-side one, which loads the
    page whole."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)


def move_or_remove(items: list[Any], op: str, *, remove: str = "remove") -> bool:
    """An ordered list's row button, in place: `up:N`, `down:N` or `<remove>:N`. True when
    `op` was one of them (an index out of range then changes nothing)."""
    verb, _, number = op.partition(":")
    if verb not in ("up", "down", remove) or not number.isdecimal():
        return False
    index = int(number)
    if verb == "up" and 0 < index < len(items):
        items[index - 1], items[index] = items[index], items[index - 1]
    elif verb == "down" and 0 <= index < len(items) - 1:
        items[index], items[index + 1] = items[index + 1], items[index]
    elif verb == remove and 0 <= index < len(items):
        del items[index]
    return True


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


def json_object(text: str, field: str | None = None) -> dict[str, Any]:
    """A form's JSON box as a dict ({} when blank), or a QfError naming `field`: not JSON, not
    an object, nested too deep, or holding what the database refuses (NaN, Infinity, numbers
    too large for a float, NUL characters)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise QfError(f"is not valid JSON: {exc.msg} (line {exc.lineno})", field=field) from None
    except (ValueError, RecursionError) as exc:
        raise QfError(f"is not valid JSON: {exc}", field=field) from None
    if not isinstance(value, dict):
        raise QfError('must be a JSON object, e.g. {"temperature": 0.7}', field=field)
    if problem := _unstorable(value):
        raise QfError(problem, field=field)
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON knows")


def _unstorable(value: Any) -> str | None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return "must not contain NUL characters"
        if isinstance(item, float) and not math.isfinite(item):
            return "holds a number too large to store"
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def toast(response: HttpResponse, message: str, *, level: str = "success") -> HttpResponse:
    """A flash message shown by dashboard.js when htmx receives the response."""
    return trigger_client_event(response, "qf:toast", {"message": message, "level": level})
