"""Providers, their models, capabilities, and refused deletes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from qfweb.crypto import encrypt
from qfweb.errors import Conflict, UnknownReference
from routing.models import Capability, Model, ModelCapability, Provider, Task
from routing.providers import KINDS
from routing.selectors import provider_find, provider_names_taken
from routing.services.base import (
    Problems,
    Upserted,
    assign_fields,
    check_params,
    finish_upsert,
    parse_strengths,
)

# Plain fields: set as given. The others name related rows and are resolved first.
PROVIDER_PLAIN = (
    "kind",
    "aliases",
    "base_url",
    "allow_private_network",
    "credential_ref",
    "timeout_s",
    "rate_limit_rpm",
    "is_enabled",
)
PROVIDER_FIELDS = (*PROVIDER_PLAIN, "default_model")
MODEL_PLAIN = (
    "display_name",
    "modality",
    "context_window",
    "max_output_tokens",
    "input_price",
    "output_price",
    "image_price",
    "char_price",
    "default_params",
    "param_map",
    "credential_ref",
    "max_retries",
    "retry_delay_s",
    "timeout_s",
    "rate_limit_rpm",
    "weight",
    "is_enabled",
)
MODEL_FIELDS = (*MODEL_PLAIN, "capabilities")
CAPABILITY_FIELDS = ("category", "description")


@transaction.atomic
def provider_upsert(
    *,
    name: str,
    data: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    secret: str | None = None,
) -> Upserted[Provider]:
    """Create or update a provider found by name or alias. `default_model` is a model name at
    this provider. The stored secret changes only through `secret`: a string is stored
    encrypted, "" removes it, None keeps it (a changed base_url still drops it, Provider.save)."""
    problems = Problems()
    problems.unknown_keys(data, PROVIDER_FIELDS)
    try:
        provider, created = provider_find(name), False
    except UnknownReference:
        provider, created = Provider(name=name), True
        data = {**(defaults or {}), **data}
        if not data.get("kind"):
            problems.add("kind", f"a new provider needs a kind (one of: {', '.join(KINDS)})")
    old_url, old_ref = provider.base_url, provider.credential_ref
    changed = assign_fields(provider, data, PROVIDER_PLAIN, problems)
    if not created and old_ref and provider.base_url != old_url and "credential_ref" not in data:
        # The environment's key would follow the provider to the new host (RELIABILITY.md,
        # SSRF control 4): whoever moves it must name the credential again.
        problems.add("credential_ref", "a new base_url needs its credential reference sent again")
    if secret is not None:
        changed |= _set_secret(provider, secret, problems)
    if "aliases" in data:
        _check_aliases(provider, problems)
    if "default_model" in data:
        changed |= _set_default_model(provider, data["default_model"], problems)
    return finish_upsert(provider, created, changed, problems)


def _check_aliases(provider: Provider, problems: Problems) -> None:
    if not isinstance(provider.aliases, list) or not all(
        isinstance(a, str) for a in provider.aliases
    ):
        return  # Provider.clean() names the problem
    taken = provider_names_taken(exclude_pk=provider.pk)
    # An alias that is another provider's name or alias would make handles ambiguous.
    for alias in provider.aliases:
        if alias in taken or alias == provider.name:
            owner = taken.get(alias, provider.name)
            problems.add("aliases", f"{alias!r} is already the name or an alias of {owner}")


def _set_secret(provider: Provider, secret: str, problems: Problems) -> bool:
    if not secret:
        changed = bool(provider.credential_encrypted)
        provider.credential_encrypted, provider.credential_set_at = "", None
        return changed
    try:
        provider.credential_encrypted = encrypt(secret)
    except ImproperlyConfigured as exc:
        problems.add("credential", f"{exc}. Or use a ${{ENV_VAR}} credential reference instead.")
        return False
    provider.credential_set_at = timezone.now()
    return True


def _set_default_model(provider: Provider, name: Any, problems: Problems) -> bool:
    model = None
    if name is not None:
        # A new provider has no models yet: importers set its default model in a second pass.
        if provider.pk:
            model = Model.objects.filter(provider_id=provider.pk, name=name).first()
        if model is None:
            problems.add("default_model", f"{provider.name} has no model {name!r}")
            return False
    if provider.default_model_id == (model.pk if model else None):
        return False
    provider.default_model = model
    return True


@transaction.atomic
def model_upsert(
    *, provider: str, name: str, data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> Upserted[Model]:
    """Create or update the model `name` at `provider` (name or alias). `capabilities` maps
    capability names to strength words and replaces the model's set."""
    problems = Problems()
    problems.unknown_keys(data, MODEL_FIELDS)
    owner = problems.attempt("provider", provider_find, provider)
    if not isinstance(name, str) or not name.strip() or any(ch.isspace() for ch in name):
        problems.add("name", "must be a model name without spaces (it goes into provider:model)")
    problems.raise_if_any()
    model = Model.objects.filter(provider=owner, name=name).first()
    created = model is None
    if created:
        # Until told otherwise, the first modality the kind serves (image for openai_images).
        model = Model(provider=owner, name=name, modality=KINDS[owner.kind].modalities[0])
        data = {**(defaults or {}), **data}
    changed = assign_fields(model, data, MODEL_PLAIN, problems)
    check_params(model.modality, model.default_params, "default_params", problems)
    current = (
        {}
        if created
        else {
            mc.capability.name: mc.strength
            for mc in model.capabilities.select_related("capability")
        }
    )
    strengths = None
    if "capabilities" in data:
        strengths = parse_strengths(data["capabilities"], "capabilities", current, problems)
        changed |= strengths != current
    result = finish_upsert(model, created, changed, problems)
    if strengths is not None and result.outcome != "unchanged":
        model.capabilities.exclude(capability__name__in=strengths).delete()
        for cap_name, strength in strengths.items():
            ModelCapability.objects.update_or_create(
                model=model,
                capability=Capability.objects.get(name=cap_name),
                defaults={"strength": strength},
            )
    return result


@transaction.atomic
def capability_upsert(
    *, name: str, data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> Upserted[Capability]:
    problems = Problems()
    problems.unknown_keys(data, CAPABILITY_FIELDS)
    capability = Capability.objects.filter(name=name).first()
    created = capability is None
    if created:
        capability, data = Capability(name=name), {**(defaults or {}), **data}
    changed = assign_fields(capability, data, CAPABILITY_FIELDS, problems)
    return finish_upsert(capability, created, changed, problems)


# ---- deletes --------------------------------------------------------------------------

# How a row that protects a model or provider is named in a refusal. Keyed by label so that
# routing needs no import of the persona store (DESIGN.md, layers).
_USER_NAMES: dict[str, Callable[[Any], str]] = {
    "personas.persona": lambda o: f"persona {o.slug}",
    "personas.personafallback": lambda o: f"persona {o.persona.slug} (fallback #{o.position})",
    "personas.personataskoverride": lambda o: f"persona {o.persona.slug} (for task {o.task.name})",
    "personas.scenariomodel": lambda o: f"scenario {o.scenario.name}",
    "routing.task": lambda o: f"task {o.name}",
    "routing.taskfallback": lambda o: f"task {o.task.name} (fallback #{o.position})",
    "routing.default": lambda o: f"the default {o.modality} model",
}


def _users(objects: Iterable[models.Model]) -> str:
    names = {_USER_NAMES.get(o._meta.label_lower, str)(o) for o in objects}
    return ", ".join(sorted(names))


def _delete(obj: models.Model, label: str) -> None:
    try:
        with transaction.atomic():
            obj.delete()
    except ProtectedError as exc:
        # Django collects the protecting rows of every relation, cascades included, so one
        # message can name them all.
        users = _users(exc.protected_objects)
        raise Conflict(f"{label} is used by {users}; change those first") from None


def model_delete(*, model: Model) -> None:
    """Delete a model, or refuse with Conflict naming every persona, task, scenario and default
    that still uses it (their foreign keys are PROTECT)."""
    _delete(model, model.handle)


def provider_delete(*, provider: Provider) -> None:
    """Delete a provider with its models, or refuse like model_delete."""
    _delete(provider, provider.name)


def capability_delete(*, capability: Capability) -> None:
    _delete(capability, f"capability {capability.name}")


def task_delete(*, task: Task) -> None:
    _delete(task, f"task {task.name}")
