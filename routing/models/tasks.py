"""Tasks (operations) with their model chains, and the global default per modality."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from routing.choices import Modality, Strategy, Strength
from routing.models.catalog import Capability, Model, validate_name
from routing.params import ParamError, validate_params


class Task(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[validate_name])
    description = models.CharField(max_length=300, blank=True)
    modality = models.CharField(max_length=10, choices=Modality.choices, default=Modality.TEXT)
    primary = models.ForeignKey(Model, null=True, blank=True, on_delete=models.PROTECT, related_name="primary_for_tasks")
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.FAILOVER)
    default_params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.primary_id and self.primary.modality != self.modality:
            errors["primary"] = f"{self.primary} is a {self.primary.modality} model; this task is {self.modality}"
        try:
            validate_params(self.modality, self.default_params)
        except ParamError as exc:
            errors["default_params"] = str(exc)
        if errors:
            raise ValidationError(errors)


class TaskFallback(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="fallbacks")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="fallback_for_tasks")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["task", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "position"], name="routing_taskfallback_unique_position"),
            models.UniqueConstraint(fields=["task", "model"], name="routing_taskfallback_unique_model"),
        ]

    def __str__(self) -> str:
        return f"task {self.task} fallback #{self.position}: {self.model}"


class TaskRequirement(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="requirements")
    capability = models.ForeignKey(Capability, on_delete=models.PROTECT, related_name="task_requirements")
    min_strength = models.PositiveSmallIntegerField(choices=Strength.choices, default=Strength.MODERATE)

    class Meta:
        ordering = ["task", "capability__name"]
        constraints = [
            models.UniqueConstraint(fields=["task", "capability"], name="routing_taskrequirement_unique"),
            models.CheckConstraint(condition=models.Q(min_strength__lte=Strength.EXCEPTIONAL), name="routing_taskrequirement_strength_range", violation_error_message="minimum strength must be none..exceptional."),
        ]

    def __str__(self) -> str:
        return f"task {self.task} needs {self.capability} >= {Strength(self.min_strength).label.lower()}"


class Default(models.Model):
    """The stored global default model for one modality (resolution level 6)."""

    modality = models.CharField(max_length=10, choices=Modality.choices, unique=True)
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="default_for")

    class Meta:
        ordering = ["modality"]

    def __str__(self) -> str:
        return f"default {self.modality} model: {self.model}"

    def clean(self) -> None:
        if self.model_id and self.model.modality != self.modality:
            raise ValidationError({"model": f"{self.model} is a {self.model.modality} model"})
