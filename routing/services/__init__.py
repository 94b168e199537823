"""Writes to the routing store: providers, models, capabilities, tasks, defaults (STYLE B-7).

Upserts take `data` holding only the fields to set: an absent key keeps the stored value (or
the model's default when creating), and a list or mapping that is given replaces the stored
one. `defaults` are used only when the row is created. Each upsert returns the row and
whether it was created, updated or left unchanged: an unchanged row is not saved, so a
second import of the same file touches nothing. Bad input raises QfError subclasses with
the field named; Django's ValidationError never escapes.
"""

from __future__ import annotations

from routing.services.base import Outcome, Problems, Upserted
from routing.services.catalog import (
    MODEL_FIELDS,
    PROVIDER_FIELDS,
    capability_delete,
    capability_upsert,
    model_delete,
    model_upsert,
    provider_delete,
    provider_upsert,
)
from routing.services.tasks import TASK_FIELDS, default_set, task_upsert

__all__ = [
    "MODEL_FIELDS",
    "PROVIDER_FIELDS",
    "TASK_FIELDS",
    "Outcome",
    "Problems",
    "Upserted",
    "capability_delete",
    "capability_upsert",
    "default_set",
    "model_delete",
    "model_upsert",
    "provider_delete",
    "provider_upsert",
    "task_upsert",
]
