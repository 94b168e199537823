"""Admin for tasks (with their ordered fallbacks and capability requirements) and defaults."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from routing.admin.common import OrderedRowsFormSet, QfModelForm, UniqueRowsFormSet
from routing.choices import Strength
from routing.models import Default, Task, TaskFallback, TaskRequirement


class TaskFallbackInline(admin.TabularInline):
    model = TaskFallback
    form = QfModelForm
    formset = OrderedRowsFormSet
    fields = ["position", "model"]
    autocomplete_fields = ["model"]
    ordering = ["position"]
    extra = 0
    verbose_name_plural = "fallbacks, tried in order of position after the primary"


class TaskRequirementInline(admin.TabularInline):
    model = TaskRequirement
    form = QfModelForm
    formset = UniqueRowsFormSet
    fields = ["capability", "min_strength"]
    autocomplete_fields = ["capability"]
    extra = 0
    verbose_name_plural = "required capabilities (used when the task has no primary)"


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = ["name", "modality", "primary", "fallback_chain", "requirement_list", "strategy"]
    list_filter = ["modality", "strategy"]
    list_select_related = ["primary__provider"]
    search_fields = ["name", "description"]
    ordering = ["name"]
    autocomplete_fields = ["primary"]
    inlines = [TaskFallbackInline, TaskRequirementInline]
    fields = [
        "name",
        "description",
        "modality",
        "primary",
        "strategy",
        "default_params",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        # Two queries for the whole page, whatever the number of tasks.
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "fallbacks", queryset=TaskFallback.objects.select_related("model__provider")
                ),
                Prefetch(
                    "requirements", queryset=TaskRequirement.objects.select_related("capability")
                ),
            )
        )

    @admin.display(description="fallbacks")
    def fallback_chain(self, obj: Task) -> str:
        return ", ".join(f.model.handle for f in obj.fallbacks.all()) or "-"

    @admin.display(description="requires")
    def requirement_list(self, obj: Task) -> str:
        return (
            ", ".join(
                f"{r.capability.name} >= {Strength(r.min_strength).label.lower()}"
                for r in obj.requirements.all()
            )
            or "-"
        )


@admin.register(Default)
class DefaultAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = ["modality", "model"]
    list_select_related = ["model__provider"]
    search_fields = ["modality", "model__name", "model__provider__name"]
    ordering = ["modality"]
    autocomplete_fields = ["model"]
