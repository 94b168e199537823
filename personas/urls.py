"""Dashboard URLs of the persona store; each view module lists its own."""

from personas.views import keys, personas, playground, scenarios

app_name = "personas"
urlpatterns = [*personas.urlpatterns, *playground.urlpatterns, *scenarios.urlpatterns, *keys.urlpatterns]
