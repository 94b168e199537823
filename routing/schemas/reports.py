"""What /api/reports reads and returns (STYLE B-11). Money is a decimal string, as in
/api/usage; days are calendar days in TIME_ZONE, an end is exclusive and `last` is the last
day included."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema
from pydantic import ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from qfweb.errors import QfError
from routing.models import ReportPeriod
from routing.reports.periods import period_end
from routing.schemas.catalog import PageQuery
from routing.schemas.usage import Money


class ReportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    period: ReportPeriod
    start: date = Field(description="A day; a Monday for a week; the 1st for a month.")

    @field_validator("start", mode="before")
    @classmethod
    def _iso_text(cls, value: object) -> object:
        # pydantic would read a number as seconds since 1970: a date here is written out.
        if not isinstance(value, str):
            raise PydanticCustomError("date_text", "must be a date written YYYY-MM-DD")
        return value

    @field_validator("start")
    @classmethod
    def _starts_the_period(cls, start: date, info: ValidationInfo) -> date:
        period = info.data.get("period")
        if period is not None:  # else the period's own error is reported
            try:
                period_end(period, start)
            except QfError as exc:
                reason = {"reason": exc.message}
                raise PydanticCustomError("period_start", "{reason}", reason) from None
        return start


class ReportFilters(PageQuery):
    period: ReportPeriod | None = None


class FiguresOut(Schema):
    requests: int
    ok: int
    fallbacks: int = Field(description="Served after a fallback (ok_after_fallback).")
    failures: int = Field(description="failed and failed_mid_stream.")
    client_disconnected: int
    pending: int = Field(description="Not finished when the day was rolled up.")
    streamed: int
    usage_estimated: int
    attempts_failed: int = Field(description="Attempts that did not succeed (fallen back from).")
    tokens_in: int
    tokens_out: int
    images: int
    characters: int
    cost: Money
    cost_estimated: Money = Field(description="Part of the cost from estimated usage.")
    latency_mean_ms: int | None
    latency_p50_ms: int | None = Field(description="From merged histograms (bucketed).")
    latency_p95_ms: int | None
    ttft_p50_ms: int | None = Field(description="Time to first token, streamed requests.")


class GroupOut(FiguresOut):
    name: str = Field(description='"" where the generations had none (no persona, key, model).')
    cost_share: float = Field(description="Of the period's cost, 0..1.")


class DayOut(FiguresOut):
    day: date


class PreviousOut(Schema):
    start: date
    end: date
    last: date
    totals: FiguresOut


class ChangeOut(Schema):
    delta: int | Money | None = Field(description="This period minus the previous one.")
    percent: float | None = Field(description="null when the previous period had none.")


class TopOut(Schema):
    persona: list[GroupOut]
    task: list[GroupOut]
    model: list[GroupOut]
    provider: list[GroupOut]
    key: list[GroupOut] = Field(description="By API key id; \"\" for requests without a key.")


class ReasonOut(Schema):
    reason: str
    count: int


class ReportDataOut(Schema):
    period: ReportPeriod
    start: date
    end: date
    last: date
    time_zone: str
    totals: FiguresOut
    previous: PreviousOut | None
    change: dict[str, ChangeOut] | None
    top: TopOut = Field(description="The biggest spenders of each dimension, by cost.")
    days: list[DayOut] = Field(description="Every day of the period, oldest first.")
    failure_reasons: list[ReasonOut] = Field(description="Error codes of failed generations.")
    fallback_reasons: list[ReasonOut] = Field(description="Outcomes of failed attempts.")


class ReportItemOut(Schema):
    id: int
    period: ReportPeriod
    start: date
    end: date = Field(description="Exclusive.")
    created_at: datetime = Field(description="When it was (re)built.")
    totals: FiguresOut


class ReportPageOut(Schema):
    count: int
    items: list[ReportItemOut]


class ReportOut(Schema):
    id: int
    period: ReportPeriod
    start: date
    end: date = Field(description="Exclusive.")
    created_at: datetime
    data: ReportDataOut
