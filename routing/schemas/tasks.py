"""Tasks and the global defaults under /api/ (issue 5, item 4)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from routing.choices import Modality, Strategy, Strength
from routing.models import Task
from routing.schemas.catalog import StoreIn, StrengthWord

HANDLE = "a provider:model handle"


class TaskPatch(StoreIn):
    """`fallbacks` and `requirements` replace the stored ones when sent."""

    description: str | None = Field(None, max_length=300)
    modality: Modality | None = None
    primary: str | None = Field(None, max_length=300, description=f"{HANDLE}, or null for none.")
    fallbacks: list[str] | None = Field(None, max_length=50, description=f"Ordered; each {HANDLE}.")
    requirements: dict[str, StrengthWord] | None = Field(
        None, description="{capability: minimum strength} a model must have to serve."
    )
    strategy: Strategy | None = None
    default_params: dict[str, Any] | None = None


class TaskIn(TaskPatch):
    name: str = Field(min_length=1, max_length=64)


class TaskOut(Schema):
    name: str
    description: str
    modality: str
    primary: str | None
    fallbacks: list[str]
    requirements: dict[str, str] = Field(description="{capability: minimum strength}")
    strategy: str
    default_params: dict[str, Any]

    @staticmethod
    def resolve_primary(task: Task) -> str | None:
        return task.primary.handle if task.primary_id else None

    @staticmethod
    def resolve_fallbacks(task: Task) -> list[str]:
        return [f.model.handle for f in task.fallbacks.all()]

    @staticmethod
    def resolve_requirements(task: Task) -> dict[str, str]:
        return {
            r.capability.name: Strength(r.min_strength).name.lower()
            for r in task.requirements.all()
        }


class TaskPage(Schema):
    count: int
    items: list[TaskOut]


class DefaultIn(StoreIn):
    model: str = Field(
        min_length=1,
        max_length=300,
        description=f"{HANDLE}, or a provider name meaning its default model.",
    )


class DefaultOut(Schema):
    modality: str
    model: str = Field(description=HANDLE)
