"""Personas under /api/ (issue 5, item 4): the shape of `personas.history.persona_snapshot`,
so `persona_apply` does every write and the change history holds the same data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field, StrictBool, field_validator

from personas.models import Persona
from routing.choices import Modality
from routing.handles import parse_handle
from routing.schemas.catalog import NO_NUL, PageQuery, StoreIn

HANDLE = "a provider:model handle"


class TaskOverrideIn(StoreIn):
    model: str = Field(max_length=300, description=HANDLE)
    params: dict[str, Any] = Field(default_factory=dict)


class TaskOverrideOut(Schema):
    model: str
    params: dict[str, Any]


class PersonaPatch(StoreIn):
    """Only the fields sent change; `fallbacks` and `task_overrides` replace the stored ones.
    Naming a model clears the provider and the other way round."""

    name: str | None = Field(None, max_length=120)
    description: str | None = Field(None, max_length=500)
    modality: Modality | None = Field(None, description="Detected from the slug when left out.")
    system_prompt: str | None = Field(None, max_length=100_000)
    model: str | None = Field(None, max_length=300, description=HANDLE)
    provider: str | None = Field(
        None, max_length=64, description="Instead of a model: its default."
    )
    fallbacks: list[str] | None = Field(None, max_length=50, description=f"Ordered; each {HANDLE}.")
    params: dict[str, Any] | None = None
    task_overrides: dict[str, TaskOverrideIn] | None = Field(
        None, description="{task: {model, params}}"
    )
    is_enabled: StrictBool | None = None


class PersonaIn(PersonaPatch):
    slug: str = Field(min_length=1, max_length=64)


class PersonaOut(Schema):
    """Exactly `persona_snapshot(persona)`, read from prefetched rows."""

    slug: str
    name: str
    description: str
    modality: str
    system_prompt: str
    model: str | None
    provider: str | None
    fallbacks: list[str]
    params: dict[str, Any]
    task_overrides: dict[str, TaskOverrideOut]
    is_enabled: bool

    @staticmethod
    def resolve_model(persona: Persona) -> str | None:
        return persona.model.handle if persona.model_id else None

    @staticmethod
    def resolve_provider(persona: Persona) -> str | None:
        return persona.provider.name if persona.provider_id else None

    @staticmethod
    def resolve_fallbacks(persona: Persona) -> list[str]:
        return [f.model.handle for f in persona.fallbacks.all()]

    @staticmethod
    def resolve_task_overrides(persona: Persona) -> dict[str, dict[str, Any]]:
        return {
            o.task.name: {"model": o.model.handle, "params": o.params}
            for o in persona.task_overrides.all()
        }


class PersonaPage(Schema):
    count: int
    items: list[PersonaOut]


class PersonaFilters(PageQuery):
    q: str | None = Field(None, max_length=100, pattern=NO_NUL, description="In the slug or name.")
    modality: Modality | None = None
    provider: str | None = Field(
        None, max_length=64, pattern=NO_NUL, description="Personas whose model or provider is here."
    )
    model: str | None = Field(
        None,
        max_length=300,
        pattern=NO_NUL,
        description=f"Personas whose model is this ({HANDLE}).",
    )
    enabled: bool | None = None

    @field_validator("model")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if value is not None:
            parse_handle(value)  # its ValueError says what is wrong
        return value


class PersonaChangeOut(Schema):
    id: int
    action: str
    actor: str
    created_at: datetime
    snapshot: dict[str, Any] = Field(description="The persona's whole configuration after it.")


class PersonaChangePage(Schema):
    count: int
    items: list[PersonaChangeOut]
