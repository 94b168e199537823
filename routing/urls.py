"""Dashboard URLs of the catalog, health and reports; each view module lists its own."""

from routing.views import defaults, models, providers, reports, tasks

app_name = "routing"
urlpatterns = [
    *providers.urlpatterns, *models.urlpatterns, *tasks.urlpatterns, *defaults.urlpatterns, *reports.urlpatterns,
]
