"""The overview: the operator's home."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def overview(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "overview", "title": "Overview"})


urlpatterns = [path("", overview, name="overview")]
