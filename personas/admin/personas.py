"""Admin for personas (with fallbacks, task overrides) and their change history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from personas.history import persona_record_change
from personas.modality import detect_modality
from personas.models import Persona, PersonaChange, PersonaFallback, PersonaTaskOverride
from routing.admin import (
    ModelHandleFilter,
    OrderedRowsFormSet,
    QfModelForm,
    ReadOnlyAdmin,
    UniqueRowsFormSet,
    pretty_json,
)

HISTORY_SHOWN = 10


class PersonaFallbackFormSet(OrderedRowsFormSet):
    def parent_modality(self) -> str:
        return self.instance.modality or detect_modality(self.instance.slug or "")


class PersonaFallbackInline(admin.TabularInline):
    model = PersonaFallback
    form = QfModelForm
    formset = PersonaFallbackFormSet
    fields = ["position", "model"]
    autocomplete_fields = ["model"]
    ordering = ["position"]
    extra = 0
    verbose_name_plural = "fallbacks, tried in order of position after the persona's model"


class PersonaTaskOverrideInline(admin.TabularInline):
    model = PersonaTaskOverride
    form = QfModelForm
    formset = UniqueRowsFormSet
    fields = ["task", "model", "params"]
    autocomplete_fields = ["task", "model"]
    extra = 0
    verbose_name_plural = "per-task models"


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = [
        "slug",
        "name",
        "modality",
        "chain_head",
        "fallback_chain",
        "is_enabled",
        "updated_at",
    ]
    list_filter = ["modality", "is_enabled", ("model", ModelHandleFilter), "provider"]
    list_select_related = ["model__provider", "provider"]
    search_fields = ["slug", "name", "description"]
    ordering = ["slug"]
    autocomplete_fields = ["model", "provider"]
    inlines = [PersonaFallbackInline, PersonaTaskOverrideInline]
    fieldsets = [
        (None, {"fields": ["slug", "name", "description", "modality", "is_enabled"]}),
        (
            "Model",
            {
                "fields": ["model", "provider", "params"],
                "description": "Set a model, or a provider to use its default model; not both.",
            },
        ),
        ("Prompt", {"fields": ["system_prompt"]}),
        ("History", {"fields": ["history", "created_at", "updated_at"]}),
    ]
    readonly_fields = ["history", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Persona]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "fallbacks", queryset=PersonaFallback.objects.select_related("model__provider")
                )
            )
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # After the inlines, so the recorded snapshot holds the new fallbacks and overrides.
        persona_record_change(
            persona=form.instance,
            action="updated" if change else "created",
            actor=request.user.get_username(),
        )

    def delete_model(self, request: HttpRequest, obj: Persona) -> None:
        persona_record_change(persona=obj, action="deleted", actor=request.user.get_username())
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Persona]) -> None:
        for persona in queryset:
            persona_record_change(
                persona=persona, action="deleted", actor=request.user.get_username()
            )
        super().delete_queryset(request, queryset)

    @admin.display(description="model")
    def chain_head(self, obj: Persona) -> str:
        if obj.model_id:
            return obj.model.handle
        return f"{obj.provider.name} (its default)" if obj.provider_id else "-"

    @admin.display(description="fallbacks")
    def fallback_chain(self, obj: Persona) -> str:
        return ", ".join(f.model.handle for f in obj.fallbacks.all()) or "-"

    @admin.display(description="recent changes")
    def history(self, obj: Persona) -> str:
        if not obj.pk:
            return "-"
        changes = list(obj.changes.all()[:HISTORY_SHOWN])
        if not changes:
            return "-"
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> {} by {}</li>',
            (
                (
                    reverse("admin:personas_personachange_change", args=[c.pk]),
                    f"{localtime(c.created_at):%Y-%m-%d %H:%M}",
                    c.action,
                    c.actor or "system",
                )
                for c in changes
            ),
        )
        everything = (
            reverse("admin:personas_personachange_changelist") + f"?persona_slug={obj.slug}"
        )
        return format_html('<ul>{}</ul><a href="{}">All changes</a>', rows, everything)


@admin.register(PersonaChange)
class PersonaChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "persona_slug", "action", "actor"]
    list_filter = ["action"]
    search_fields = ["persona_slug", "actor"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    fields = ["persona", "persona_slug", "action", "actor", "created_at", "configuration"]
    readonly_fields = ["configuration"]

    @admin.display(description="configuration after the change")
    def configuration(self, obj: PersonaChange) -> str:
        return pretty_json(obj.snapshot)
