"""One row per request through the gateway, and one per call to a model inside it.

Persona, task and API key are stored as values, not foreign keys: `routing` does not know
the persona store, and usage history must outlive a deleted persona (DESIGN.md, layers).
"""
from __future__ import annotations

import uuid

from django.db import models

from routing.choices import AttemptOutcome, GenerationStatus, Modality
from routing.models.catalog import Model
from routing.models.fields import non_negative


class Generation(models.Model):
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    persona_slug = models.CharField(max_length=64, blank=True, db_index=True)
    task_name = models.CharField(max_length=64, blank=True, db_index=True)
    api_key_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    modality = models.CharField(max_length=10, choices=Modality.choices, default=Modality.TEXT)
    requested_override = models.CharField(max_length=300, blank=True)
    served_model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.SET_NULL, related_name="generations")
    served_handle = models.CharField(max_length=300, blank=True, help_text="Kept when the model is deleted.")
    served_level = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=24, choices=GenerationStatus.choices, default=GenerationStatus.PENDING, db_index=True)
    error_code = models.CharField(max_length=40, blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    tokens_in = models.PositiveIntegerField(null=True, blank=True)
    tokens_out = models.PositiveIntegerField(null=True, blank=True)
    images = models.PositiveIntegerField(null=True, blank=True)
    characters = models.PositiveIntegerField(null=True, blank=True, help_text="Of text turned into speech.")
    usage_estimated = models.BooleanField(default=False, help_text="Tokens counted by qfweb: the provider reported none.")
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    # The prices the cost was computed with: a later price change never rewrites history.
    input_price = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True, help_text="Price used, per 1M.")
    output_price = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True, help_text="Price used, per 1M.")
    image_price = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True, help_text="Price used, per image.")
    char_price = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True, help_text="Price used, per 1k characters.")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField("time to first token (ms)", null=True, blank=True)
    is_streamed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [non_negative("cost")]
        # Budgets sum a month of one key's or one persona's rows on every request.
        indexes = [
            models.Index(fields=["api_key_id", "created_at"], name="routing_gen_key_time"),
            models.Index(fields=["persona_slug", "created_at"], name="routing_gen_persona_time"),
        ]

    def __str__(self) -> str:
        return f"generation {self.request_id}"


class Attempt(models.Model):
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="attempts")
    position = models.PositiveSmallIntegerField()
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts")
    model_handle = models.CharField(max_length=300)
    outcome = models.CharField(max_length=24, choices=AttemptOutcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_text = models.TextField(blank=True, help_text="Secrets removed.")
    provider_request_id = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["generation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "position"], name="routing_attempt_unique_position"),
        ]

    def __str__(self) -> str:
        return f"attempt #{self.position} {self.model_handle}: {self.outcome}"
