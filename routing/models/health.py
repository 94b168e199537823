from __future__ import annotations

from django.db import models

from routing.choices import HealthState
from routing.models.catalog import Model, Provider


class HealthCheck(models.Model):
    """One probe of a provider (and optionally one of its models)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="health_checks")
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.CASCADE, related_name="health_checks")
    is_ok = models.BooleanField()
    state = models.CharField(max_length=20, choices=HealthState.choices, default=HealthState.UNKNOWN)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_text = models.TextField(blank=True, help_text="Secrets removed.")
    checked_at = models.DateTimeField(auto_now_add=True, db_index=True)  # pruning reads it

    class Meta:
        ordering = ["-checked_at"]
        indexes = [models.Index(fields=["provider", "-checked_at"], name="routing_health_provider_time")]

    def __str__(self) -> str:
        return f"{self.provider} {'ok' if self.is_ok else 'failed'} at {self.checked_at:%Y-%m-%d %H:%M}"
