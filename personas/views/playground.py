"""The playground."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from qfweb.pages import render_page, staff_page


@staff_page
def playground(request: HttpRequest, slug: str) -> HttpResponse:
    return render_page(request, "components/todo.html", {"section": "personas", "title": "Playground"})


urlpatterns = [path("personas/<slug:slug>/playground/", playground, name="playground")]
