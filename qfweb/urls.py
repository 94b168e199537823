from __future__ import annotations

from django.contrib import admin
from django.urls import path

admin.site.site_header = "qfweb"
admin.site.site_title = "qfweb admin"
admin.site.index_title = "Personas, models and routing"

urlpatterns = [
    path("admin/", admin.site.urls),
]
