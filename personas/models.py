"""The persona store: personas and roles, their model chains, scenarios, client keys."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from personas.modality import detect_modality
from routing.choices import Modality
from routing.models import Model, Provider, Task
from routing.models.catalog import validate_name
from routing.params import ParamError, validate_params


class Persona(models.Model):
    slug = models.CharField(max_length=64, unique=True, validators=[validate_name])
    name = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=500, blank=True)
    modality = models.CharField(
        max_length=10, choices=Modality.choices, blank=True,
        help_text="Detected from the slug when left empty (illustrator -> image ...).",
    )
    system_prompt = models.TextField(blank=True)
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.PROTECT, related_name="personas")
    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="personas",
        help_text="Instead of a model: use this provider's default model.",
    )
    params = models.JSONField(default=dict, blank=True)
    is_enabled = models.BooleanField("enabled", default=True)
    monthly_budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="USD a calendar month across every key; warned at 80 %, refused at 100 %.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_budget__isnull=True) | models.Q(monthly_budget__gte=0),
                name="personas_persona_budget_non_negative",
                violation_error_message="monthly budget must not be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(model__isnull=True) | models.Q(provider__isnull=True),
                name="personas_persona_model_or_provider",
                violation_error_message="Set a model or a provider, not both.",
            ),
        ]

    def __str__(self) -> str:
        return f"persona {self.slug}"

    def save(self, *args, **kwargs) -> None:
        if not self.modality:
            self.modality = detect_modality(self.slug)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        modality = self.modality or detect_modality(self.slug or "")
        errors: dict[str, str] = {}
        if self.model_id and self.model.modality != modality:
            errors["model"] = f"{self.model} is a {self.model.modality} model; this persona is {modality}"
        try:
            validate_params(modality, self.params)
        except ParamError as exc:
            errors["params"] = str(exc)
        if errors:
            raise ValidationError(errors)


class PersonaFallback(models.Model):
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="fallbacks")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="fallback_for_personas")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["persona", "position"]
        constraints = [
            models.UniqueConstraint(fields=["persona", "position"], name="personas_fallback_unique_position"),
            models.UniqueConstraint(fields=["persona", "model"], name="personas_fallback_unique_model"),
        ]

    def __str__(self) -> str:
        return f"{self.persona} fallback #{self.position}: {self.model}"


class PersonaTaskOverride(models.Model):
    """Which model a persona uses for one task (resolution level 2)."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="task_overrides")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="persona_overrides")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="override_for_personas")
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["persona", "task__name"]
        constraints = [
            models.UniqueConstraint(fields=["persona", "task"], name="personas_override_unique_task"),
        ]

    def __str__(self) -> str:
        return f"{self.persona} for task {self.task}: {self.model}"


class PersonaChange(models.Model):
    """One change to a persona, with the whole configuration after it, so it can be reverted."""

    persona = models.ForeignKey(Persona, null=True, on_delete=models.SET_NULL, related_name="changes")
    persona_slug = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=20)
    actor = models.CharField(max_length=150, blank=True)
    snapshot = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.persona_slug} {self.action} by {self.actor or 'system'}"


class Scenario(models.Model):
    """A group of agent personas with a model distribution (source document 001)."""

    name = models.CharField(max_length=64, unique=True, validators=[validate_name])
    description = models.CharField(max_length=300, blank=True)
    group_size = models.PositiveIntegerField()
    last_seed = models.BigIntegerField(null=True, blank=True, editable=False)
    last_assignment = models.JSONField(null=True, blank=True, editable=False)
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(group_size__gt=0), name="personas_scenario_group_size_positive", violation_error_message="group size must be positive."),
        ]

    def __str__(self) -> str:
        return f"scenario {self.name}"

    @property
    def is_homogeneous(self) -> bool:
        return self.distribution.count() == 1


class ScenarioModel(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="distribution")
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="scenarios")
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["scenario", "-count", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "model"], name="personas_scenariomodel_unique"),
            models.CheckConstraint(condition=models.Q(count__gt=0), name="personas_scenariomodel_count_positive", violation_error_message="count must be positive."),
        ]

    def __str__(self) -> str:
        return f"{self.scenario}: {self.count} x {self.model}"


class ApiKey(models.Model):
    """A client app's key. Only the public prefix and a hash of the whole key are stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    all_personas = models.BooleanField(default=False, help_text="May act as any persona.")
    personas = models.ManyToManyField(Persona, blank=True, related_name="api_keys")
    all_tasks = models.BooleanField(default=False, help_text="May run any task.")
    tasks = models.ManyToManyField(Task, blank=True, related_name="api_keys")
    may_override = models.BooleanField(default=False, help_text="May pick a model at request time.")
    may_write = models.BooleanField(default=False, help_text="May change the store through the API.")
    rate_limit_rpm = models.PositiveIntegerField("rate limit (requests/min)", null=True, blank=True)
    monthly_budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, help_text="USD.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_budget__isnull=True) | models.Q(monthly_budget__gte=0),
                name="personas_apikey_budget_non_negative",
                violation_error_message="monthly budget must not be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
