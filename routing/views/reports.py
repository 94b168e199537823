"""Usage reports page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def reports(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "reports", "title": "Reports"})


urlpatterns = [path("reports/", reports, name="reports")]
