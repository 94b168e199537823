"""API key pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def key_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "keys", "title": "API keys"})


urlpatterns = [path("keys/", key_list, name="keys")]
