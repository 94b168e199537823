"""Reads of the routing store by name, alias or `provider:model` handle (STYLE B-7)."""

from __future__ import annotations

from typing import TypeVar

from django.db import models

from qfweb.errors import NotFound, QfError, UnknownReference
from routing.handles import parse_handle
from routing.models import Capability, Model, Provider, Task

T = TypeVar("T", bound=models.Model)


def provider_names_taken(*, exclude_pk: int | None = None) -> dict[str, str]:
    """{name or alias: owning provider} over every other provider. Handles name a provider by
    name or alias, so each may belong to one provider only."""
    taken: dict[str, str] = {}
    for name, aliases in Provider.objects.exclude(pk=exclude_pk).values_list("name", "aliases"):
        for alias in [name, *(aliases or [])]:
            taken[alias] = name
    return taken


# ---- lookups --------------------------------------------------------------------------


def provider_find(name: str) -> Provider:
    """The provider called `name`, or whose aliases include it (`google:` for gemini, 003)."""
    if not isinstance(name, str):
        raise QfError("must be a provider name")
    found = Provider.objects.filter(name=name).first()
    if found is None:
        # Aliases are a JSON list, which SQLite cannot search inside; providers are few.
        found = next((p for p in Provider.objects.all() if name in (p.aliases or [])), None)
    if found is None:
        raise UnknownReference(f"unknown provider {name!r}", ref=f"provider {name}")
    return found


def provider_found(name: str) -> Provider:
    """provider_find for a name in a URL: one that matches nothing is a 404 naming it."""
    try:
        return provider_find(name)
    except QfError:
        raise NotFound(f"unknown provider {name!r}", field="provider") from None


def model_find(handle: str) -> Model:
    try:
        parsed = parse_handle(handle)
    except ValueError as exc:
        raise QfError(str(exc)) from None
    provider = provider_find(parsed.provider)
    found = Model.objects.filter(provider=provider, name=parsed.model).first()
    if found is None:
        raise UnknownReference(f"unknown model {handle!r}", ref=f"model {handle}")
    return found


def model_or_default_find(value: str) -> Model:
    """A `provider:model` handle, or a bare provider name meaning its default model."""
    if isinstance(value, str) and ":" not in value:
        provider = provider_find(value)
        if provider.default_model is None:
            raise QfError(f"provider {provider.name} has no default model")
        return provider.default_model
    return model_find(value)


def capability_find(name: str) -> Capability:
    return _named(Capability, "capability", name)


def task_find(name: str) -> Task:
    return _named(Task, "task", name)


def _named(cls: type[T], what: str, name: str) -> T:
    found = cls.objects.filter(name=name).first() if isinstance(name, str) else None
    if found is None:
        raise UnknownReference(f"unknown {what} {name!r}", ref=f"{what} {name}")
    return found


# ---- choices for the dashboard's pickers ------------------------------------------------


def model_choices(modality: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(provider, [(handle, label), ...]), ...] for a `provider:model` picker, in one query.
    The label is the handle, the display name if any, and "[disabled]" when it is.

    Disabled models and providers stay listed (a stored choice must still show), labelled
    so the operator sees why the chain will drop them.
    """
    rows = Model.objects.select_related("provider").order_by("provider__name", "name")
    if modality:
        rows = rows.filter(modality=modality)
    grouped: dict[str, list[tuple[str, str]]] = {}
    for model in rows:
        handle = f"{model.provider.name}:{model.name}"
        label = f"{handle} · {model.display_name}" if model.display_name else handle
        if not (model.is_enabled and model.provider.is_enabled):
            label += " [disabled]"
        grouped.setdefault(model.provider.name, []).append((handle, label))
    return list(grouped.items())
