from __future__ import annotations

from decimal import Decimal

from django.db import models


def price_field(help_text: str) -> models.DecimalField:
    return models.DecimalField(
        max_digits=14, decimal_places=6, null=True, blank=True, help_text=help_text
    )


def non_negative(field: str) -> models.CheckConstraint:
    """Prices and counters can be unknown (NULL) but never negative."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__gte": Decimal(0)}),
        name=f"%(app_label)s_%(class)s_{field}_non_negative",
        violation_error_message=f"{field.replace('_', ' ')} must not be negative.",
    )
