"""What went wrong, independent of how it is shown: both APIs render a `Problem` (STYLE B-10),
/api/ in its own shape, /v1/ in OpenAI's. Nothing here carries an upstream's raw text: a
generation's attempts keep only their outcome and status."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from qfweb.errors import BudgetExceeded, FieldErrors, QfError, RateLimited
from routing.engine import GenerationFailed
from routing.recording import AttemptRecord

logger = logging.getLogger("qfweb.api")
# ninja has its own handlers for the last three; lookup goes by the exception's MRO, so an
# API that renders every error itself registers its handler for each of these.
RENDERED = (Exception, Http404, HttpError, NinjaValidationError)
LOCATIONS = ("body", "query", "path", "header", "cookie", "form")


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    code: str
    message: str
    field: str | None = None
    errors: tuple[tuple[str | None, str], ...] = ()  # (field, message), each problem found
    retry_after: int | None = None  # whole seconds (RFC 9110)
    no_retry: bool = False  # retrying cannot help (budget spent)
    attempts: tuple[AttemptRecord, ...] | None = None
    request_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.no_retry:
            headers["x-should-retry"] = "false"
        return headers


def api_body(problem: Problem, request_id: str) -> dict:
    """The /api/ error body: `{"error": {...}}`."""
    body: dict = {
        "code": problem.code,
        "message": problem.message,
        "field": problem.field,
        "errors": [{"field": f, "message": m} for f, m in problem.errors],
        "request_id": problem.request_id or request_id,
    }
    if problem.retry_after is not None:
        body["retry_after"] = problem.retry_after
    if problem.attempts is not None:
        body["attempts"] = [attempt_body(a) for a in problem.attempts]
    return {"error": body}


def attempt_body(attempt: AttemptRecord) -> dict:
    """An attempt as clients see it: no upstream text (RELIABILITY.md SSRF control 5)."""
    return {
        "position": attempt.position, "model": attempt.handle, "outcome": attempt.outcome,
        "http_status": attempt.http_status, "latency_ms": attempt.latency_ms,
    }


def problem_of(exc: Exception) -> Problem:
    if isinstance(exc, FieldErrors):
        errors = tuple((e.field, e.message) for e in exc.errors)
        return Problem(exc.status, exc.code, exc.message, exc.field, errors)
    if isinstance(exc, GenerationFailed):
        return Problem(
            exc.status, exc.code, exc.message, exc.field, retry_after=_seconds(exc.retry_after),
            attempts=exc.attempts, request_id=exc.request_id,
        )
    if isinstance(exc, RateLimited):
        return Problem(exc.status, exc.code, exc.message, exc.field, retry_after=_seconds(exc.retry_after))
    if isinstance(exc, BudgetExceeded):
        return Problem(exc.status, exc.code, exc.message, exc.field, no_retry=True)
    if isinstance(exc, QfError):
        return Problem(exc.status, exc.code, exc.message, exc.field)
    if isinstance(exc, NinjaValidationError):
        errors = tuple((_field(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in exc.errors)
        first_field, first_message = errors[0] if errors else (None, "invalid request")
        message = f"{first_field}: {first_message}" if first_field else first_message
        return Problem(422, "invalid", message, first_field, errors)
    if isinstance(exc, AuthenticationError):
        # One body for a missing, malformed, unknown, revoked or wrong key: no oracle.
        message = "a valid API key is required (Authorization: Bearer qf_...)"
        return Problem(401, "unauthenticated", message, "authorization")
    if isinstance(exc, HttpError):  # ninja's own: a failed CSRF check, a bad JSON body
        code = "forbidden" if exc.status_code == 403 else "bad_request"
        return Problem(exc.status_code, code, exc.message)
    if isinstance(exc, Http404):
        return Problem(404, "not_found", "no such resource")
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Problem(413, "too_large", f"the request body is larger than {limit} bytes")
    logger.exception("unexpected error in an API view", exc_info=exc)
    return Problem(500, "internal_error", "internal error; quote the request id when reporting it")


def _field(loc: object) -> str | None:
    """ninja's error location as a dotted field: ("body", "payload", "messages", 0, "role")
    -> "messages.0.role"."""
    parts = [str(p) for p in (loc if isinstance(loc, list | tuple) else ())]
    if parts and parts[0] in LOCATIONS:
        parts = parts[1:]
        # A body or query schema is one parameter: its name is not a field the client sent.
        if len(parts) > 1 and parts[0] in ("payload", "filters"):
            parts = parts[1:]
    return ".".join(parts) or None


def _seconds(value: float | None) -> int | None:
    return None if value is None else max(1, math.ceil(value))
