"""Scenarios under /api/: groups of agents with a model distribution, and their assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field, StrictInt

from personas.models import Scenario
from personas.services import MAX_AGENTS, SEED_BITS
from routing.schemas.catalog import StoreIn

DISTRIBUTION = "{provider:model handle: number of agents}; the counts add up to group_size."
Agents = Annotated[StrictInt, Field(ge=1, le=MAX_AGENTS)]


class ScenarioPatch(StoreIn):
    """`distribution` replaces the stored one; group_size left out on creation is its sum."""

    description: str | None = Field(None, max_length=300)
    group_size: Agents | None = None
    distribution: dict[str, Agents] | None = Field(None, max_length=200, description=DISTRIBUTION)


class ScenarioIn(ScenarioPatch):
    name: str = Field(min_length=1, max_length=64)


class ScenarioOut(Schema):
    name: str
    description: str
    group_size: int
    distribution: dict[str, int] = Field(description=DISTRIBUTION)
    last_seed: int | None = Field(description="The seed of the stored assignment, if any.")
    assigned_at: datetime | None

    @staticmethod
    def resolve_distribution(scenario: Scenario) -> dict[str, int]:
        return {row.model.handle: row.count for row in scenario.distribution.all()}


class ScenarioPage(Schema):
    count: int
    items: list[ScenarioOut]


class AssignIn(StoreIn):
    seed: StrictInt | None = Field(
        None,
        ge=0,
        lt=2**SEED_BITS,
        description="The same seed gives the same assignment; "
        "one is drawn at random when left out.",
    )


class AgentOut(Schema):
    agent: int = Field(description="1..group_size")
    model: str


class AssignmentOut(Schema):
    scenario: str
    seed: int
    assigned_at: datetime
    assignment: list[AgentOut]
