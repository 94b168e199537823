"""Budget alerts: one row the first time a key or a persona reaches 80 % or 100 % of its
monthly budget, so the warning is raised once and the dashboard can list it."""
from __future__ import annotations

from django.db import models


class BudgetAlert(models.Model):
    class Scope(models.TextChoices):
        KEY = "key"
        PERSONA = "persona"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    subject = models.CharField(max_length=64, help_text="The key's id or the persona's slug.")
    month = models.DateField(help_text="The first day of the month, in TIME_ZONE.")
    level = models.PositiveSmallIntegerField(help_text="Percent of the budget: 80 or 100.")
    budget = models.DecimalField(max_digits=12, decimal_places=2)
    # A month of usage rows can sum past any one row's 14 digits.
    spent = models.DecimalField(max_digits=24, decimal_places=8)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "subject", "month", "level"], name="routing_budget_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.subject} at {self.level} % of its budget for {self.month:%Y-%m}"
