"""Usage rows for the report tests: generations at chosen moments, with attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Case, DateTimeField, Value, When

from routing.models import Attempt, Generation

NOON = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)


def generations(rows: Sequence[dict[str, Any]]) -> list[Generation]:
    """Insert `rows` (Generation fields, plus `at` for created_at and `attempts`, a list of
    outcomes) in three queries: created_at is auto_now_add, so it is set by an update."""
    made = Generation.objects.bulk_create(
        Generation(**{k: v for k, v in row.items() if k not in ("at", "attempts")}) for row in rows
    )
    moments = [
        When(pk=g.pk, then=Value(row.get("at", NOON))) for g, row in zip(made, rows, strict=True)
    ]
    if moments:
        Generation.objects.filter(pk__in=[g.pk for g in made]).update(
            created_at=Case(*moments, output_field=DateTimeField())
        )
    Attempt.objects.bulk_create(
        Attempt(generation=g, position=i, model_handle=g.served_handle or "p:m", outcome=outcome)
        for g, row in zip(made, rows, strict=True)
        for i, outcome in enumerate(row.get("attempts", ()), 1)
    )
    return made


def generation(**row: Any) -> Generation:
    row.setdefault("status", "ok")
    row.setdefault("served_handle", "openai:gpt-4o")
    return generations([row])[0]
