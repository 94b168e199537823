"""Admin for what the gateway records: generations, attempts, health checks. Read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from qfweb.redact import redact
from routing.admin.common import ModelHandleFilter, ReadOnlyAdmin
from routing.models import Attempt, BudgetAlert, Generation, HealthCheck


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = [
        "position",
        "model_handle",
        "outcome",
        "http_status",
        "latency_ms",
        "error_text",
        "started_at",
    ]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Generation | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Generation | None = None) -> bool:
        return False


@admin.register(Generation)
class GenerationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "persona_slug",
        "task_name",
        "served_handle",
        "status",
        "tokens_in",
        "tokens_out",
        "cost",
        "latency_ms",
        "is_streamed",
    ]
    list_filter = [
        "status",
        ("persona_slug", admin.AllValuesFieldListFilter),
        ("task_name", admin.AllValuesFieldListFilter),
        ("served_model", ModelHandleFilter),
        ("served_model__provider", admin.RelatedOnlyFieldListFilter),
        "modality",
        "is_streamed",
    ]
    search_fields = ["=request_id", "persona_slug", "task_name", "served_handle", "error_code"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False  # one COUNT(*) over a large table is enough
    inlines = [AttemptInline]
    fieldsets = [
        (None, {"fields": ["request_id", "created_at", "finished_at", "status", "error_code"]}),
        (
            "Request",
            {
                "fields": [
                    "persona_slug",
                    "task_name",
                    "api_key_id",
                    "modality",
                    "requested_override",
                    "is_streamed",
                ]
            },
        ),
        ("Served", {"fields": ["served_model", "served_handle", "served_level"]}),
        (
            "Usage",
            {
                "fields": [
                    "tokens_in",
                    "tokens_out",
                    "usage_estimated",
                    "cost",
                    "input_price",
                    "output_price",
                    "latency_ms",
                    "ttft_ms",
                ]
            },
        ),
    ]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "generation",
        "position",
        "model_handle",
        "outcome",
        "http_status",
        "latency_ms",
        "short_error",
    ]
    list_filter = [
        "outcome",
        ("model", ModelHandleFilter),
        ("model__provider", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["generation"]
    search_fields = ["model_handle", "error_text", "=generation__request_id"]
    date_hierarchy = "started_at"
    ordering = ["-started_at", "-id"]
    show_full_result_count = False

    @admin.display(description="error")
    def short_error(self, obj: Attempt) -> str:
        return _short(obj.error_text)


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "provider", "state", "latency_ms", "short_error"]
    list_filter = ["state", "is_ok", "provider", ("model", ModelHandleFilter)]
    list_select_related = ["provider", "model__provider"]
    search_fields = ["provider__name", "model__name", "error_text"]
    date_hierarchy = "checked_at"
    ordering = ["-checked_at"]
    show_full_result_count = False

    @admin.display(description="error")
    def short_error(self, obj: HealthCheck) -> str:
        return _short(obj.error_text)


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "scope", "subject", "month", "level", "spent", "budget"]
    list_filter = ["scope", "level", "month"]
    search_fields = ["subject"]
    ordering = ["-created_at"]


def _short(text: str, limit: int = 120) -> str:
    # Stored already redacted; scrubbing again costs nothing and guards old rows.
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
