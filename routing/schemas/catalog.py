"""Providers, models and capabilities under /api/ (issue 5, item 4; STYLE B-11), and the
pieces every store schema shares: strict input, pages.

A provider's secret is write-only: `credential` goes in, and only whether one is stored (and
since when) comes out. Health is the checker's to write, so no input schema has it.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from ninja import Path, Schema
from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
)
from pydantic_core import PydanticCustomError

from routing.choices import CapabilityCategory, Modality, Strength
from routing.models import Model, Provider
from routing.schemas import NO_NUL

StrengthWord = Literal["none", "basic", "moderate", "strong", "exceptional"]
# The ranges of PositiveIntegerField and PositiveSmallIntegerField on every backend: a
# larger number would overflow in the database (a 500) instead of being refused (a 422).
Count = Annotated[StrictInt, Field(ge=0, le=2_147_483_647)]
# Where a check constraint wants more than zero: its refusal would name no field.
PositiveCount = Annotated[StrictInt, Field(ge=1, le=2_147_483_647)]
Price = Annotated[Decimal, Field(ge=0)]
SmallCount = Annotated[StrictInt, Field(ge=0, le=32_767)]
# A name in a path: PostgreSQL cannot even compare a string holding NUL.
NAME = Path(..., max_length=200, pattern=NO_NUL)
SECRET = (
    "The key for this provider, stored encrypted and never shown again; null removes it. "
    "Prefer credential_ref."
)


def json_safe(value: Any) -> Any:
    """`value` if it has no NUL character and no NaN or Infinity anywhere (Python's JSON
    parser lets those through; PostgreSQL and httpx refuse them), else a validation error."""
    if isinstance(value, str) and "\x00" in value:
        raise PydanticCustomError("nul", "must not contain NUL characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite", "must be a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            json_safe(key)
            json_safe(item)
    elif isinstance(value, list):
        for item in value:
            json_safe(item)
    return value


class StoreIn(Schema):
    """What a store write accepts: the declared fields only (a protected or misspelt field is
    a 422, OWASP API3), and nothing PostgreSQL would refuse (NUL characters; NaN or Infinity,
    which Python's JSON parser lets through) anywhere in the body."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _checkjson_safe(cls, value: Any) -> Any:
        return json_safe(value)


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)

    def of(self, rows: QuerySet[Any]) -> dict[str, Any]:
        """`{"count", "items"}` for this page of `rows` (which must be ordered)."""
        start = (self.page - 1) * self.page_size
        return {"count": rows.count(), "items": list(rows[start : start + self.page_size])}


class ProviderPatch(StoreIn):
    kind: str | None = Field(None, max_length=20)
    aliases: list[str] | None = Field(None, max_length=20)
    base_url: str | None = Field(None, max_length=500)
    allow_private_network: StrictBool | None = Field(None, description="Superusers only.")
    credential_ref: str | None = Field(
        None, description="An environment variable: ${OPENAI_API_KEY}."
    )
    credential: SecretStr | None = Field(None, min_length=1, max_length=4096, description=SECRET)
    default_model: str | None = Field(None, max_length=200, description="One of its models' names.")
    timeout_s: PositiveCount | None = None
    rate_limit_rpm: Count | None = None
    is_enabled: StrictBool | None = None


class ProviderIn(ProviderPatch):
    name: str = Field(min_length=1, max_length=64)
    kind: str = Field(
        max_length=20, description="The wire API: openai, anthropic, gemini, echo ..."
    )


class ProviderOut(Schema):
    name: str
    kind: str
    aliases: list[str]
    base_url: str
    allow_private_network: bool
    credential_ref: str
    has_stored_credential: bool
    credential_set_at: datetime | None
    default_model: str | None
    timeout_s: int
    rate_limit_rpm: int | None
    is_enabled: bool
    health_state: str
    health_latency_ms: int | None
    health_checked_at: datetime | None

    @staticmethod
    def resolve_has_stored_credential(provider: Provider) -> bool:
        return bool(provider.credential_encrypted)

    @staticmethod
    def resolve_default_model(provider: Provider) -> str | None:
        return provider.default_model.name if provider.default_model_id else None


class ProviderPage(Schema):
    count: int
    items: list[ProviderOut]


class ModelPatch(StoreIn):
    display_name: str | None = Field(None, max_length=200)
    modality: Modality | None = None
    context_window: Count | None = None
    max_output_tokens: Count | None = None
    input_price: Price | None = Field(None, description="USD per 1M input tokens.")
    output_price: Price | None = Field(None, description="USD per 1M output tokens.")
    image_price: Price | None = Field(None, description="USD per image.")
    char_price: Price | None = Field(None, description="USD per 1k characters (speech).")
    default_params: dict[str, Any] | None = None
    param_map: dict[str, str] | None = Field(
        None, description="Our parameter name -> the provider's."
    )
    credential_ref: str | None = Field(None, max_length=100)
    max_retries: SmallCount | None = None
    retry_delay_s: StrictFloat | None = Field(None, ge=0, le=3600)
    timeout_s: Count | None = None
    rate_limit_rpm: Count | None = None
    weight: SmallCount | None = None
    is_enabled: StrictBool | None = None
    capabilities: dict[str, StrengthWord] | None = Field(
        None, description="{capability: strength}; replaces the model's set."
    )


class ModelIn(ModelPatch):
    provider: str = Field(min_length=1, max_length=64, description="A provider's name or alias.")
    name: str = Field(min_length=1, max_length=200, description="The model's name at the provider.")


class ModelOut(Schema):
    handle: str
    provider: str
    name: str
    display_name: str
    modality: str
    context_window: int | None
    max_output_tokens: int | None
    input_price: Decimal | None
    output_price: Decimal | None
    image_price: Decimal | None
    char_price: Decimal | None
    default_params: dict[str, Any]
    param_map: dict[str, str]
    credential_ref: str
    capabilities: dict[str, str] = Field(description="{capability: strength}")
    max_retries: int
    retry_delay_s: float
    timeout_s: int | None
    rate_limit_rpm: int | None
    weight: int
    is_enabled: bool

    @staticmethod
    def resolve_provider(model: Model) -> str:
        return model.provider.name

    @staticmethod
    def resolve_capabilities(model: Model) -> dict[str, str]:
        return {
            link.capability.name: Strength(link.strength).name.lower()
            for link in model.capabilities.all()
        }


class ModelPage(Schema):
    count: int
    items: list[ModelOut]


class ModelFilters(PageQuery):
    capability: str | None = Field(None, max_length=64, pattern=NO_NUL, description="Has it ...")
    min_strength: StrengthWord | None = Field(None, description="... at least this strong (basic).")
    modality: Modality | None = None
    provider: str | None = Field(None, max_length=64, pattern=NO_NUL, description="Name or alias.")
    enabled: bool | None = None


class CapabilityPatch(StoreIn):
    category: CapabilityCategory | None = None
    description: str | None = Field(None, max_length=300)


class CapabilityIn(CapabilityPatch):
    name: str = Field(min_length=1, max_length=64)


class CapabilityOut(Schema):
    name: str
    category: str
    description: str


class CapabilityPage(Schema):
    count: int
    items: list[CapabilityOut]
