"""Admin for scenarios and their model distribution."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from personas.models import Scenario, ScenarioModel
from routing.admin import QfModelForm, UniqueRowsFormSet, pretty_json


class DistributionFormSet(UniqueRowsFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        total = sum(
            form.cleaned_data["count"]
            for form in self.forms
            if form.cleaned_data.get("count") and not self._should_delete_form(form)
        )
        size = self.instance.group_size
        if size and total != size:
            raise ValidationError(
                f"The counts add up to {total}, but the group size is {size}. Make them equal."
            )


class ScenarioModelInline(admin.TabularInline):
    model = ScenarioModel
    form = QfModelForm
    formset = DistributionFormSet
    fields = ["model", "count"]
    autocomplete_fields = ["model"]
    extra = 0
    verbose_name_plural = "distribution: how many agents get each model"


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = ["name", "group_size", "distribution_summary", "assigned_at"]
    search_fields = ["name", "description"]
    ordering = ["name"]
    inlines = [ScenarioModelInline]
    fields = ["name", "description", "group_size", "last_seed", "assigned_at", "assignment"]
    readonly_fields = ["last_seed", "assigned_at", "assignment"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Scenario]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "distribution", queryset=ScenarioModel.objects.select_related("model__provider")
                )
            )
        )

    @admin.display(description="distribution")
    def distribution_summary(self, obj: Scenario) -> str:
        return (
            ", ".join(f"{row.count} x {row.model.handle}" for row in obj.distribution.all()) or "-"
        )

    @admin.display(description="last assignment")
    def assignment(self, obj: Scenario) -> str:
        return pretty_json(obj.last_assignment)
