"""Health checks under /api/: one probe's result, and a provider's history."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema

from routing.models import HealthCheck


class HealthCheckOut(Schema):
    provider: str
    state: str
    is_ok: bool
    latency_ms: int | None
    error: str
    checked_at: datetime

    @staticmethod
    def resolve_provider(check: HealthCheck) -> str:
        return check.provider.name

    @staticmethod
    def resolve_error(check: HealthCheck) -> str:
        return check.error_text


class HealthCheckPage(Schema):
    count: int
    items: list[HealthCheckOut]
