"""The Django admin for the persona store. Importing the package registers every ModelAdmin."""

from __future__ import annotations

from personas.admin import api_keys, personas, scenarios  # noqa: F401  (registration)
