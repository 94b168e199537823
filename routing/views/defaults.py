"""Defaults page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def defaults(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "defaults", "title": "Defaults"})


urlpatterns = [path("defaults/", defaults, name="defaults")]
