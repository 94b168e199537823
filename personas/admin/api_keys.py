"""Admin for client API keys: issued through personas.keys, shown once, revoked in bulk."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from personas.keys import api_key_issue, api_key_revoke
from personas.models import ApiKey
from routing.admin import QfModelForm


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "active"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = [
        "name",
        "prefix",
        "persona_scope",
        "task_scope",
        "may_override",
        "may_write",
        "rate_limit_rpm",
        "monthly_budget",
        "created_at",
        "last_used_at",
        "is_active",
    ]
    list_filter = [KeyStatusFilter, "may_override", "may_write", "all_personas", "all_tasks"]
    search_fields = ["name", "prefix"]
    ordering = ["name"]
    autocomplete_fields = ["personas", "tasks"]
    formfield_overrides = {models.DecimalField: {"min_value": 0}}
    actions = ["revoke_selected"]
    scope_fields = [
        "name",
        "all_personas",
        "personas",
        "all_tasks",
        "tasks",
        "may_override",
        "may_write",
        "rate_limit_rpm",
        "monthly_budget",
    ]
    # The key hash is never shown, not even here; the prefix is enough to tell keys apart.
    record_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                persona_total=Count("personas", distinct=True),
                task_total=Count("tasks", distinct=True),
            )
        )

    def get_fieldsets(
        self, request: HttpRequest, obj: ApiKey | None = None
    ) -> list[tuple[str | None, dict[str, Any]]]:
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": self.scope_fields,
                        "description": "The key is shown once, right after it is issued.",
                    },
                )
            ]
        return [(None, {"fields": self.scope_fields}), ("Record", {"fields": self.record_fields})]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return self.record_fields if obj else []

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        scopes = {name: form.cleaned_data[name] for name in self.scope_fields}
        issued = api_key_issue(**scopes, created_by=request.user)
        # The admin goes on with `obj` (history entry, redirect): make it the issued row.
        obj.pk = issued.api_key.pk
        obj.refresh_from_db()
        obj._state.adding = False
        self.message_user(
            request,
            f"API key issued. Copy it now, it will not be shown again: {issued.plaintext}",
            messages.SUCCESS,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:  # a new key's scopes were set by api_key_issue
            super().save_related(request, form, formsets, change)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Straight to the key's page, where the one-time message shows next to its prefix.
        return HttpResponseRedirect(reverse("admin:personas_apikey_change", args=[obj.pk]))

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for api_key in active:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(active)} API key(s).", messages.SUCCESS)

    @admin.display(description="personas")
    def persona_scope(self, obj: ApiKey) -> str:
        return "all" if obj.all_personas else str(obj.persona_total)

    @admin.display(description="tasks")
    def task_scope(self, obj: ApiKey) -> str:
        return "all" if obj.all_tasks else str(obj.task_total)

    @admin.display(description="active", boolean=True)
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active
