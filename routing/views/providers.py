"""Provider pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def provider_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "providers", "title": "Providers"})


urlpatterns = [path("providers/", provider_list, name="providers")]
