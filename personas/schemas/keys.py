"""What /api/keys reads and returns (STYLE B-11, B-12). No schema carries the key's hash;
the plaintext appears once, in the answer to the request that created the key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict

from routing.schemas import NO_NUL

MAX_RPM = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NO_NUL)]


def _sorted_by(attribute: str) -> BeforeValidator:
    """A key's personas or tasks as sorted names (ninja hands over the prefetched rows)."""

    def names(value: Any) -> Any:
        if hasattr(value, "all"):
            value = value.all()
        if isinstance(value, Iterable) and not isinstance(value, str):
            return sorted(getattr(row, attribute, row) for row in value)
        return value

    return BeforeValidator(names)


Slugs = Annotated[list[str], _sorted_by("slug")]
TaskNames = Annotated[list[str], _sorted_by("name")]


class KeyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Name
    all_personas: bool = False
    personas: list[Name] = Field([], max_length=500, description="Persona slugs.")
    all_tasks: bool = False
    tasks: list[Name] = Field([], max_length=500, description="Task names.")
    may_override: bool = False
    may_write: bool = False
    rate_limit_rpm: int | None = Field(None, ge=1, le=MAX_RPM, description="Requests a minute.")
    monthly_budget: Decimal | None = Field(
        None, ge=0, max_digits=12, decimal_places=2, description="USD."
    )


class KeyOut(Schema):
    id: int
    name: str
    prefix: str
    all_personas: bool
    personas: Slugs
    all_tasks: bool
    tasks: TaskNames
    may_override: bool
    may_write: bool
    rate_limit_rpm: int | None
    monthly_budget: Decimal | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The key itself. Shown this once: only its hash is stored.")
