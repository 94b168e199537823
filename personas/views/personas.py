"""Persona pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def persona_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "personas", "title": "Personas"})


urlpatterns = [path("personas/", persona_list, name="list")]
