"""Pieces every qfweb ModelAdmin shares: the base form, inline formsets, filters, read-only."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Model as DjangoModel
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html

from routing.models import Model


class QfModelForm(forms.ModelForm):
    """Base form for every admin page: a model's clean() error is a form error, never a 500."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # An emptied JSON box cleans to None, but our JSON columns are NOT NULL with a
        # {} or [] default: store the default instead of failing in the database.
        for name, field in self.fields.items():
            if isinstance(field, forms.JSONField) and name in cleaned and cleaned[name] is None:
                try:
                    model_field = self._meta.model._meta.get_field(name)
                except FieldDoesNotExist:
                    continue
                if not model_field.null and model_field.has_default():
                    cleaned[name] = model_field.get_default()
        return cleaned

    def add_error(self, field: str | None, error: Any) -> None:
        # Model.clean() may name a field this form does not show (read-only for this user,
        # or left out of a compact inline); Django raises ValueError for that, so the
        # message is shown form-wide with the field's name instead.
        if field is None and hasattr(error, "error_dict"):
            errors: dict[str, list[ValidationError]] = {}
            for name, items in error.error_dict.items():
                if name == NON_FIELD_ERRORS or name in self.fields:
                    errors.setdefault(name, []).extend(items)
                else:
                    label = name.replace("_", " ")
                    errors.setdefault(NON_FIELD_ERRORS, []).extend(
                        ValidationError(f"{label}: {message}")
                        for message in ValidationError(items).messages
                    )
            error = ValidationError(errors)
        super().add_error(field, error)


class UniqueRowsFormSet(BaseInlineFormSet):
    """Inline rows under per-parent unique constraints (position, model, capability...).

    The formset checks the submitted rows against each other, but saves them one by one,
    so a swap (A 1->2, B 2->1) would collide midway and the database would refuse it.
    The rows being changed or deleted are removed first and the changed ones written back
    under their old ids. Only for rows that nothing else points at.
    """

    def save(self, commit: bool = True) -> list[DjangoModel]:
        if commit:
            touched = [
                form.instance.pk
                for form in self.initial_forms
                if form.instance.pk and (form.has_changed() or self._should_delete_form(form))
            ]
            if touched:
                self.model._default_manager.filter(pk__in=touched).delete()
        return super().save(commit)


class OrderedRowsFormSet(UniqueRowsFormSet):
    """Fallback rows: each model must have the parent's modality."""

    def parent_modality(self) -> str:
        return getattr(self.instance, "modality", "")

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        modality = self.parent_modality()
        for form in self.forms:
            model = form.cleaned_data.get("model")
            if model is None or self._should_delete_form(form):
                continue
            if modality and model.modality != modality:
                form.add_error("model", f"{model} is a {model.modality} model; this is {modality}")


class ModelHandleFilter(admin.RelatedOnlyFieldListFilter):
    """Lists the models in use by handle in two queries; the stock filter reads each
    model's provider on its own."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[Any, str]]:
        used = (
            model_admin.get_queryset(request)
            .distinct()
            .values_list(f"{self.field_path}__pk", flat=True)
        )
        return [
            (m.pk, m.handle) for m in Model.objects.filter(pk__in=used).select_related("provider")
        ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the gateway: viewable, never edited; only superusers delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


def pretty_json(value: Any) -> str:
    if value in (None, {}, []):
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))
