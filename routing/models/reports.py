"""Daily rollups of the usage record, and the cost reports built from them (DESIGN.md:
"daily aggregates and generated cost reports, by date x persona x task x model x provider x
API key").

A rollup row holds sums and counts, never averages, so that any set of rows can be merged
exactly: latency and time to first token are fixed-bucket histograms, one column per bucket
(routing.reports.histogram), which SQL adds up like any other count.
"""

from __future__ import annotations

from django.db import models

from routing.reports.histogram import LATENCY, TTFT, columns

NO_KEY = 0  # api_key_id of generations without a key: NULLs are distinct in a unique index


class ReportPeriod(models.TextChoices):
    DAY = "day"
    WEEK = "week"  # starts on Monday
    MONTH = "month"  # starts on the 1st


class DailyRollup(models.Model):
    # The six dimensions: "" (or NO_KEY) where the generations had none.
    day = models.DateField(help_text="A calendar day in TIME_ZONE.")
    persona_slug = models.CharField(max_length=64, blank=True)
    task_name = models.CharField(max_length=64, blank=True)
    model_handle = models.CharField(
        max_length=300, blank=True, help_text="Served handle; empty when nothing was served."
    )
    provider_name = models.CharField(
        max_length=300, blank=True, help_text="The handle's provider part."
    )
    api_key_id = models.BigIntegerField(
        default=NO_KEY, help_text="0 for generations made without a key."
    )
    # Counts of generations.
    requests = models.PositiveIntegerField(default=0)
    ok = models.PositiveIntegerField(default=0)
    ok_after_fallback = models.PositiveIntegerField(default=0, help_text="Served after a fallback.")
    failed = models.PositiveIntegerField(default=0, help_text="failed and failed_mid_stream.")
    client_disconnected = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0, help_text="Not finished when rolled up.")
    streamed = models.PositiveIntegerField(default=0)
    usage_estimated = models.PositiveIntegerField(default=0)
    attempts_failed = models.PositiveIntegerField(
        default=0, help_text="Attempts that did not succeed."
    )
    # Sums.
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    images = models.PositiveBigIntegerField(default=0)
    characters = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=20, decimal_places=8, default=0)
    cost_estimated = models.DecimalField(
        max_digits=20, decimal_places=8, default=0, help_text="Of generations with estimated usage."
    )
    latency_ms_sum = models.PositiveBigIntegerField(default=0)
    # Why: {error_code: count} of failed generations, {outcome: count} of failed attempts.
    failure_reasons = models.JSONField(default=dict, blank=True)
    fallback_reasons = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["day", "persona_slug", "task_name", "model_handle", "api_key_id"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day", "persona_slug", "task_name", "model_handle", "provider_name",
                    "api_key_id",
                ],
                name="routing_rollup_unique_group",
            ),
        ]

    def __str__(self) -> str:
        group = "/".join(v or "-" for v in (self.persona_slug, self.task_name, self.model_handle))
        return f"rollup {self.day} {group}"


# One column per histogram bucket (latency_b00 ... ttft_b26): merged by SUM like the counts.
for _name in (*columns(LATENCY), *columns(TTFT)):
    DailyRollup.add_to_class(_name, models.PositiveIntegerField(default=0))


class CostReport(models.Model):
    period = models.CharField(max_length=10, choices=ReportPeriod.choices)
    start = models.DateField(help_text="First day, in TIME_ZONE.")
    end = models.DateField(help_text="The day after the last (exclusive).")
    created_at = models.DateTimeField(help_text="When it was (re)built.")
    data = models.JSONField(help_text="Totals, comparison, top spenders, reasons, daily series.")
    csv = models.TextField()

    class Meta:
        ordering = ["-start", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "start"], name="routing_cost_report_unique_period"
            ),
        ]

    def __str__(self) -> str:
        return f"cost report {self.period} from {self.start}"
