"""What routing's objects look like in the APIs (STYLE B-11)."""

from __future__ import annotations

from decimal import Decimal

from ninja import Schema

from routing.access import Caller

MAX_ID = 2**63 - 1  # a larger id would overflow the query (an error), not just miss (a 404)
NO_NUL = r"^[^\x00]*$"  # PostgreSQL refuses NUL in text: such input is a 422, not a 500


class AttemptOut(Schema):
    """One call (or skip) inside a generation. The upstream's error text is for operators
    (the admin and dashboard); clients get the outcome and status only."""

    position: int
    model: str
    outcome: str
    http_status: int | None = None
    latency_ms: int | None = None


class CallerOut(Schema):
    """What the authenticated key (or staff session) may do; null lists mean "all"."""

    name: str
    key_id: int | None
    personas: list[str] | None
    tasks: list[str] | None
    may_override: bool
    may_write: bool
    rate_limit_rpm: int | None
    monthly_budget: Decimal | None
    is_staff: bool

    @staticmethod
    def resolve_personas(caller: Caller) -> list[str] | None:
        return None if caller.personas is None else sorted(caller.personas)

    @staticmethod
    def resolve_tasks(caller: Caller) -> list[str] | None:
        return None if caller.tasks is None else sorted(caller.tasks)
