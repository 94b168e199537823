"""What /api/usage reads and returns (STYLE B-11).

Money is a decimal string ("0.00125000"): exact, as stored, so sums and reports never pick
up binary rounding.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from django.utils import timezone
from ninja import Field, Schema
from pydantic import (
    BeforeValidator,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from routing.choices import GenerationStatus
from routing.schemas import MAX_ID, NO_NUL, AttemptOut

MAX_PAGE_SIZE = 200
MAX_PAGE = 1_000_000  # keeps the offset inside a 64-bit integer
MOMENT_HELP = "ISO date (2025-05-31) or datetime (2025-05-31T12:00:00Z); naive means TIME_ZONE"


def _moment(value: Any, *, day_end: bool) -> datetime:
    """An aware datetime from an ISO date or datetime. A date means its first moment, or,
    for an exclusive upper bound, the first moment of the next day (so the day is in)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            message = "must be an ISO date or datetime, not {value}"
            raise _invalid(message, value=repr(value)) from None
    try:
        if not isinstance(value, datetime) and isinstance(value, date):
            value = datetime.combine(value + timedelta(days=1) if day_end else value, time())
        if not isinstance(value, datetime):
            raise _invalid("must be an ISO date or datetime")
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        value.astimezone(UTC)  # the database compares in UTC: year 1 or 9999 may not fit
    except OverflowError:
        raise _invalid("is out of range") from None
    return value


def _invalid(template: str, **context: str) -> PydanticCustomError:
    # A custom error keeps pydantic's "Value error, " prefix out of the message; the
    # client's text goes in as context, never into the template.
    return PydanticCustomError("moment", template, context)


def _since(value: Any) -> datetime:
    return _moment(value, day_end=False)


def _until(value: Any) -> datetime:
    return _moment(value, day_end=True)


MomentSchema = WithJsonSchema({"type": "string", "description": MOMENT_HELP})
Since = Annotated[datetime, BeforeValidator(_since), MomentSchema]
Until = Annotated[datetime, BeforeValidator(_until), MomentSchema]
# Fixed-point text: str(Decimal) would write a zero cost as "0E-8".
Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "description": "USD"}),
]
# PostgreSQL refuses NUL in text: reject it here rather than fail in the query.
Name = Annotated[str, Field(max_length=300, pattern=NO_NUL)]


class UsageFilters(Schema):
    since: Since | None = Field(None, description=f"From this moment on. {MOMENT_HELP}.")
    until: Until | None = Field(None, description="Before this moment; a date includes its day.")
    persona: Name | None = Field(None, description="Persona slug.")
    task: Name | None = Field(None, description="Task name.")
    model: Name | None = Field(None, description="Served model handle (provider:model).")
    provider: Name | None = Field(None, description="Provider of the served model.")
    key: int | None = Field(
        None, ge=1, le=MAX_ID, description="API key id; a client key sees only its own."
    )
    status: GenerationStatus | None = None


class UsagePage(UsageFilters):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class UsageItemOut(Schema):
    request_id: UUID
    created_at: datetime
    persona: str
    task: str
    key_id: int | None
    modality: str
    requested_override: str
    served_model: str
    served_level: str
    status: GenerationStatus
    error_code: str
    finish_reason: str
    tokens_in: int | None
    tokens_out: int | None
    images: int | None
    characters: int | None
    usage_estimated: bool
    cost: Money | None
    latency_ms: int | None
    ttft_ms: int | None
    streamed: bool


class UsagePageOut(Schema):
    count: int
    items: list[UsageItemOut]


class UsageAttemptOut(AttemptOut):
    error_text: str | None = Field(
        None, description="The upstream's error, secrets removed: staff sessions only."
    )

    @model_serializer(mode="wrap")
    def _without_hidden_text(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Absent rather than null for client keys: nothing suggests there is text to find.
        data = handler(self)
        if data.get("error_text") is None:
            data.pop("error_text", None)
        return data


class UsageDetailOut(UsageItemOut):
    attempts: list[UsageAttemptOut]


class UsageTotalsOut(Schema):
    requests: int
    by_status: dict[str, int]
    fallbacks: int = Field(description="Served after a fallback (ok_after_fallback).")
    failures: int = Field(description="failed and failed_mid_stream.")
    tokens_in: int
    tokens_out: int
    cost: Money
    cost_estimated_share: float = Field(description="Share of the cost from estimated usage, 0..1.")
    latency_p50_ms: int | None
    latency_p95_ms: int | None
    ttft_p50_ms: int | None


class UsageGroupOut(Schema):
    name: str = Field(description='"" where the generations have none (no persona, key, model).')
    requests: int
    failures: int
    tokens_in: int
    tokens_out: int
    cost: Money


class UsageSummaryOut(Schema):
    totals: UsageTotalsOut
    by_persona: list[UsageGroupOut]
    by_task: list[UsageGroupOut]
    by_model: list[UsageGroupOut]
    by_provider: list[UsageGroupOut]
    by_key: list[UsageGroupOut]
    by_status: list[UsageGroupOut]
    by_day: list[UsageGroupOut] = Field(description="Oldest first; days in TIME_ZONE.")
