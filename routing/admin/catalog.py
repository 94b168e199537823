"""Admin for providers, models and capabilities."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.timezone import localtime
from django.views.decorators.debug import sensitive_post_parameters

from qfweb.redact import redact
from routing import health
from routing.admin.common import ModelHandleFilter, QfModelForm, UniqueRowsFormSet
from routing.admin.credentials import ProviderForm, apply_secret
from routing.models import Capability, Model, ModelCapability, Provider

# The check constraints say "never negative" too, but as an unreadable form-wide error.
NON_NEGATIVE = {models.DecimalField: {"min_value": 0}, models.FloatField: {"min_value": 0}}


class ModelRenameFormSet(BaseInlineFormSet):
    """Model names are unique per provider; renamed rows get a parked name first, so
    swapping two names in one save does not collide midway."""

    def save(self, commit: bool = True) -> list[Model]:
        if commit:
            for form in self.initial_forms:
                if form.instance.pk and "name" in form.changed_data:
                    Model.objects.filter(pk=form.instance.pk).update(
                        name=f"~renaming~{form.instance.pk}"
                    )
        return super().save(commit)


class ModelInline(admin.TabularInline):
    model = Model
    form = QfModelForm
    formset = ModelRenameFormSet
    fields = ["name", "display_name", "modality", "context_window", "is_enabled"]
    extra = 0
    show_change_link = True
    # Deleting a model cascades to its capabilities and health checks; do it from the
    # model's own page, where the confirmation lists what goes with it.
    can_delete = False


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = [
        "name",
        "kind",
        "base_url_shown",
        "health_state",
        "is_enabled",
        "has_credential",
        "model_count",
    ]
    list_filter = ["kind", "health_state", "is_enabled"]
    search_fields = ["name", "base_url", "aliases"]
    ordering = ["name"]
    inlines = [ModelInline]
    actions = ["check_now"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "kind",
                    "base_url",
                    "allow_private_network",
                    "aliases",
                    "default_model",
                    "is_enabled",
                ]
            },
        ),
        (
            "Credential",
            {
                "fields": ["credential_ref", "stored_secret", "secret", "clear_secret"],
                "description": "Prefer a ${ENV_VAR} reference. "
                "A stored secret is encrypted and never shown again.",
            },
        ),
        ("Limits", {"fields": ["timeout_s", "rate_limit_rpm"]}),
        (
            "Health",
            {
                "fields": [
                    "health_state",
                    "health_latency_ms",
                    "health_checked_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    readonly_fields = [
        "stored_secret",
        "health_state",
        "health_latency_ms",
        "health_checked_at",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        return super().get_queryset(request).annotate(model_total=Count("models"))

    def formfield_for_dbfield(
        self, db_field: models.Field, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "timeout_s":
            kwargs["min_value"] = 1
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Provider | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        # A private base URL reaches internal services (RELIABILITY.md, SSRF control 2).
        if not request.user.is_superuser:
            fields.append("allow_private_network")
        return fields

    def get_form(
        self, request: HttpRequest, obj: Provider | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.may_allow_private_network = request.user.is_superuser
        if "default_model" in form.base_fields:
            models = Model.objects.filter(provider=obj) if obj else Model.objects.none()
            form.base_fields["default_model"].queryset = models.select_related("provider")
        return form

    @method_decorator(sensitive_post_parameters("secret"))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: Provider, form: ProviderForm, change: bool
    ) -> None:
        for level, message in apply_secret(obj, form, change=change):
            self.message_user(request, message, level)
        super().save_model(request, obj, form, change)

    @admin.action(description="Check health now")
    def check_now(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        """Probe the selected providers as the periodic check does (routing.health)."""
        for check in health.check_many(list(queryset.values_list("name", flat=True))):
            level = messages.SUCCESS if check.is_ok else messages.WARNING
            error = f": {check.error_text}" if check.error_text else ""
            latency = "" if check.latency_ms is None else f" in {check.latency_ms} ms"
            self.message_user(request, f"{check.provider.name} is {check.state}{latency}{error}", level)

    @admin.display(description="stored secret")
    def stored_secret(self, obj: Provider) -> str:
        if obj.credential_encrypted and obj.credential_set_at:
            return f"set on {localtime(obj.credential_set_at):%Y-%m-%d %H:%M %Z}"
        return "set" if obj.credential_encrypted else "not set"

    @admin.display(description="base URL", ordering="base_url")
    def base_url_shown(self, obj: Provider) -> str:
        # A key pasted into a query string (?key=...) must not show up in a list.
        return redact(obj.base_url) or "-"

    @admin.display(description="credential", boolean=True)
    def has_credential(self, obj: Provider) -> bool:
        return obj.has_credential

    @admin.display(description="models", ordering="model_total")
    def model_count(self, obj: Provider) -> int:
        return obj.model_total


class ModelCapabilityInline(admin.TabularInline):
    model = ModelCapability
    form = QfModelForm
    formset = UniqueRowsFormSet
    fields = ["capability", "strength"]
    autocomplete_fields = ["capability"]
    extra = 0


@admin.register(Model)
class CatalogModelAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = [
        "handle",
        "display_name",
        "modality",
        "prices",
        "context_window",
        "max_output_tokens",
        "is_enabled",
    ]
    list_filter = ["provider", "modality", "is_enabled", "capabilities__capability"]
    list_select_related = ["provider"]
    search_fields = ["name", "display_name", "provider__name"]
    ordering = ["provider__name", "name"]
    autocomplete_fields = ["provider"]
    formfield_overrides = NON_NEGATIVE
    inlines = [ModelCapabilityInline]
    fieldsets = [
        (None, {"fields": ["provider", "name", "display_name", "modality", "is_enabled"]}),
        (
            "Size and prices (USD)",
            {
                "fields": [
                    "context_window",
                    "max_output_tokens",
                    "input_price",
                    "output_price",
                    "image_price",
                    "char_price",
                ]
            },
        ),
        (
            "Calling",
            {
                "fields": [
                    "default_params",
                    "param_map",
                    "credential_ref",
                    "max_retries",
                    "retry_delay_s",
                    "timeout_s",
                    "rate_limit_rpm",
                    "weight",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description="handle", ordering="provider__name")
    def handle(self, obj: Model) -> str:
        return obj.handle

    @admin.display(description="prices (USD)")
    def prices(self, obj: Model) -> str:
        parts = []
        if obj.input_price is not None or obj.output_price is not None:
            parts.append(f"{_money(obj.input_price)} in / {_money(obj.output_price)} out per 1M")
        if obj.image_price is not None:
            parts.append(f"{_money(obj.image_price)} per image")
        if obj.char_price is not None:
            parts.append(f"{_money(obj.char_price)} per 1k chars")
        return "; ".join(parts) or "-"


def _money(value: Any) -> str:
    return "?" if value is None else f"{value.normalize():f}"


@admin.register(Capability)
class CapabilityAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = ["name", "category", "description", "model_count"]
    list_filter = ["category"]
    search_fields = ["name", "description"]
    ordering = ["category", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Capability]:
        return super().get_queryset(request).annotate(model_total=Count("model_links"))

    @admin.display(description="models", ordering="model_total")
    def model_count(self, obj: Capability) -> int:
        return obj.model_total


@admin.register(ModelCapability)
class ModelCapabilityAdmin(admin.ModelAdmin):
    form = QfModelForm
    list_display = ["model", "capability", "strength"]
    list_filter = ["capability", "strength", ("model", ModelHandleFilter)]
    list_select_related = ["model__provider", "capability"]
    search_fields = ["model__name", "model__provider__name", "capability__name"]
    ordering = ["model__provider__name", "model__name", "capability__name"]
    autocomplete_fields = ["model", "capability"]
