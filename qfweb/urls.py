from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path

from qfweb import api as rest
from qfweb import openai_api
from qfweb.views import overview

admin.site.site_header = "qfweb"
admin.site.site_title = "qfweb admin"
admin.site.index_title = "Personas, models and routing"

urlpatterns = [
    *overview.urlpatterns,
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("", include("personas.urls")),
    path("", include("routing.urls")),
    # Pages without our <link rel="icon"> (the admin, the API docs): browsers ask here. The
    # static URL is looked up per request: production's manifest is not read at import.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("qfweb/favicon.svg"))),
    path("admin/", admin.site.urls),
    path("api/", rest.api.urls),
    path("v1/", openai_api.openai_api.urls),
    # Last: any other path under the APIs answers in their own JSON, not an HTML page.
    re_path(r"^api/(?P<rest>[\s\S]*)\Z", rest.not_found),  # [\s\S]: newlines too
    re_path(r"^v1/(?P<rest>[\s\S]*)\Z", openai_api.not_found),
]
