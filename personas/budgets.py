"""The monthly budgets the store holds: of client keys and of personas."""

from __future__ import annotations

from personas.models import ApiKey, Persona
from routing.budget import Budget


def budgets_all() -> list[Budget]:
    keys = ApiKey.objects.filter(monthly_budget__isnull=False, revoked_at__isnull=True).values_list("id", "monthly_budget")
    personas = Persona.objects.filter(monthly_budget__isnull=False).values_list("slug", "monthly_budget")
    return [Budget("key", str(pk), limit) for pk, limit in keys] + [
        Budget("persona", slug, limit) for slug, limit in personas
    ]
