"""Providers, their models, and what the models are good at."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from routing.choices import CapabilityCategory, HealthState, Modality, Strength
from routing.handles import ENV_REF_RE, PROVIDER_NAME_RE
from routing.models.fields import non_negative, price_field
from routing.params import ParamError, validate_params
from routing.providers import KIND_CHOICES, KINDS
from routing.urlsafety import UnsafeURL, check_base_url

NAME_HELP = "Lower case letters, digits, '.', '_' and '-'; no colon."


def validate_name(value: str) -> None:
    if not PROVIDER_NAME_RE.match(value or ""):
        raise ValidationError(f"{value!r} is not a valid name. {NAME_HELP}")


def validate_env_reference(value: str) -> None:
    if value and not ENV_REF_RE.match(value):
        raise ValidationError("must look like ${ENV_VAR_NAME}")


class Provider(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[validate_name], help_text=NAME_HELP)
    aliases = models.JSONField(
        default=list, blank=True,
        help_text="Other names accepted in handles, e.g. ['google'] for gemini (source document 003).",
    )
    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    base_url = models.CharField(max_length=500, blank=True)
    allow_private_network = models.BooleanField(
        default=False, help_text="Permit a base URL on a private or loopback address (local servers)."
    )
    credential_ref = models.CharField(
        "credential reference", max_length=100, blank=True, validators=[validate_env_reference],
        help_text="An environment variable holding the key, as ${OPENAI_API_KEY}.",
    )
    credential_encrypted = models.TextField(blank=True, editable=False)
    credential_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    default_model = models.ForeignKey(
        "routing.Model", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Used when a persona names only this provider.",
    )
    timeout_s = models.PositiveIntegerField("timeout (s)", default=60)
    rate_limit_rpm = models.PositiveIntegerField("rate limit (requests/min)", null=True, blank=True)
    is_enabled = models.BooleanField("enabled", default=True)
    health_state = models.CharField(max_length=20, choices=HealthState.choices, default=HealthState.UNKNOWN, editable=False)
    health_latency_ms = models.PositiveIntegerField(null=True, blank=True, editable=False)
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(timeout_s__gt=0), name="routing_provider_timeout_positive", violation_error_message="timeout (s) must be positive."),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_credential(self) -> bool:
        return bool(self.credential_ref or self.credential_encrypted)

    @classmethod
    def from_db(cls, db, field_names, values):  # type: ignore[no-untyped-def]
        instance = super().from_db(db, field_names, values)
        instance._secret_entered_for = (
            instance.__dict__.get("base_url"), instance.__dict__.get("credential_encrypted")
        )
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Credential binding (RELIABILITY.md, SSRF control 4): a stored secret was entered for
        # one host. Whoever moves the provider elsewhere (admin, import, API) loses it unless
        # a new secret comes with the same save; so a key never follows a changed URL.
        url, secret = getattr(self, "_secret_entered_for", (None, None))
        if secret and self.credential_encrypted == secret and url is not None and self.base_url != url:
            self.credential_encrypted, self.credential_set_at = "", None
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "credential_encrypted", "credential_set_at"}
        super().save(*args, **kwargs)
        self._secret_entered_for = (self.base_url, self.credential_encrypted)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.aliases, list) or not all(isinstance(a, str) for a in self.aliases):
            errors["aliases"] = "must be a list of names"
        else:
            for alias in self.aliases:
                if not PROVIDER_NAME_RE.match(alias):
                    errors["aliases"] = f"{alias!r} is not a valid name. {NAME_HELP}"
        if self.kind in KINDS and KINDS[self.kind].default_base_url and not self.base_url:
            errors["base_url"] = f"a {self.kind} provider needs a base URL"
        if self.base_url:
            try:
                check_base_url(self.base_url, allow_private_network=self.allow_private_network)
            except UnsafeURL as exc:
                errors["base_url"] = f"{self.base_url} {exc}"
        if self.default_model_id and self.pk and self.default_model.provider_id != self.pk:
            errors["default_model"] = "must be one of this provider's models"
        if errors:
            raise ValidationError(errors)


class Model(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=200, help_text="The model's name at the provider, e.g. gpt-4o.")
    display_name = models.CharField(max_length=200, blank=True)
    modality = models.CharField(max_length=10, choices=Modality.choices, default=Modality.TEXT)
    context_window = models.PositiveIntegerField(null=True, blank=True, help_text="Tokens.")
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    input_price = price_field("USD per 1M input tokens.")
    output_price = price_field("USD per 1M output tokens.")
    image_price = price_field("USD per image.")
    char_price = price_field("USD per 1k characters (speech).")
    default_params = models.JSONField(default=dict, blank=True)
    param_map = models.JSONField(
        default=dict, blank=True, help_text="Our parameter name -> the provider's, e.g. {\"max_tokens\": \"max_length\"}."
    )
    credential_ref = models.CharField(
        "credential reference", max_length=100, blank=True, validators=[validate_env_reference],
        help_text="Overrides the provider's, for a model-specific key (source document 001).",
    )
    max_retries = models.PositiveSmallIntegerField(default=1)
    retry_delay_s = models.FloatField("retry delay (s)", default=0.5)
    timeout_s = models.PositiveIntegerField("timeout (s)", null=True, blank=True, help_text="Defaults to the provider's.")
    rate_limit_rpm = models.PositiveIntegerField("rate limit (requests/min)", null=True, blank=True)
    weight = models.PositiveSmallIntegerField(default=1, help_text="Share of traffic under the weighted strategy.")
    is_enabled = models.BooleanField("enabled", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="routing_model_unique_handle"),
            non_negative("input_price"),
            non_negative("output_price"),
            non_negative("image_price"),
            non_negative("char_price"),
            models.CheckConstraint(condition=models.Q(retry_delay_s__gte=0), name="routing_model_retry_delay_non_negative", violation_error_message="retry delay must not be negative."),
        ]

    def __str__(self) -> str:
        return self.handle

    @property
    def handle(self) -> str:
        return f"{self.provider.name}:{self.name}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.provider_id and self.modality not in KINDS[self.provider.kind].modalities:
            errors["modality"] = f"a {self.provider.kind} provider does not serve {self.modality}"
        try:
            validate_params(self.modality, self.default_params)
        except ParamError as exc:
            errors["default_params"] = str(exc)
        if not isinstance(self.param_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in self.param_map.items()
        ):
            errors["param_map"] = "must map parameter names to provider parameter names"
        if errors:
            raise ValidationError(errors)


class Capability(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[validate_name])
    category = models.CharField(max_length=20, choices=CapabilityCategory.choices, default=CapabilityCategory.TASK)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["category", "name"]
        verbose_name_plural = "capabilities"

    def __str__(self) -> str:
        return self.name


class ModelCapability(models.Model):
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="capabilities")
    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="model_links")
    strength = models.PositiveSmallIntegerField(choices=Strength.choices, default=Strength.MODERATE)

    class Meta:
        ordering = ["capability__name"]
        verbose_name_plural = "model capabilities"
        constraints = [
            models.UniqueConstraint(fields=["model", "capability"], name="routing_modelcapability_unique"),
            models.CheckConstraint(condition=models.Q(strength__lte=Strength.EXCEPTIONAL), name="routing_modelcapability_strength_range", violation_error_message="strength must be none..exceptional."),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.capability} {Strength(self.strength).label.lower()}"
