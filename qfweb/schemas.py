"""The error body of /api/, declared once so every operation can list its error responses
(STYLE B-10; schemathesis checks that each status returned is documented)."""

from __future__ import annotations

from typing import Any

from ninja import Schema

from routing.schemas import AttemptOut


class FieldProblem(Schema):
    field: str | None = None
    message: str


class ErrorBody(Schema):
    code: str
    message: str
    field: str | None = None
    errors: list[FieldProblem] = []
    request_id: str | None = None
    retry_after: int | None = None
    attempts: list[AttemptOut] | None = None


class ErrorOut(Schema):
    error: ErrorBody


# A bad key, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad parameter, too many failed
# authentications: any operation can answer these.
ALWAYS = (401, 413, 422, 429)


def errors(*statuses: int) -> dict[int, Any]:
    """`response={200: X, **errors(403, 404)}`: every operation says how it can fail."""
    return {status: ErrorOut for status in sorted({*ALWAYS, *statuses})}
