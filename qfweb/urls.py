from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from qfweb.api import api
from qfweb.openai_api import openai_api

admin.site.site_header = "qfweb"
admin.site.site_title = "qfweb admin"
admin.site.index_title = "Personas, models and routing"

urlpatterns = [
    # The admin is the only UI until the dashboard exists.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("v1/", openai_api.urls),
]
