"""Scenario pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def scenario_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "scenarios", "title": "Scenarios"})


urlpatterns = [path("scenarios/", scenario_list, name="scenarios")]
