from __future__ import annotations

from django.contrib import admin
from django.urls import path, re_path
from django.views.generic import RedirectView

from qfweb import api as rest, openai_api

admin.site.site_header = "qfweb"
admin.site.site_title = "qfweb admin"
admin.site.index_title = "Personas, models and routing"

urlpatterns = [
    # The admin is the only UI until the dashboard exists.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", rest.api.urls),
    path("v1/", openai_api.openai_api.urls),
    # Last: any other path under the APIs answers in their own JSON, not an HTML page.
    re_path(r"^api/(?P<rest>[\s\S]*)\Z", rest.not_found),  # [\s\S]: newlines too
    re_path(r"^v1/(?P<rest>[\s\S]*)\Z", openai_api.not_found),
]
