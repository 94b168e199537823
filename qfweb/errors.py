"""The domain's error vocabulary (STYLE B-10): every interface renders these the same way."""
from __future__ import annotations


class QfError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(QfError):
    status = 404
    code = "not_found"


class Forbidden(QfError):
    status = 403
    code = "forbidden"


class Conflict(QfError):
    status = 409
    code = "conflict"


class UnknownReference(QfError):
    """A name or handle that matches nothing in the store; `ref` says what was looked for."""

    code = "unknown_reference"

    def __init__(self, message: str, *, ref: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.ref = ref


class FieldErrors(QfError):
    """Every problem found in one entry, so the caller can show them all at once."""

    status = 422  # the request was well formed; what it asks for cannot be stored
    code = "invalid"

    def __init__(self, errors: list[QfError]) -> None:
        super().__init__("; ".join(str(e) for e in errors), field=errors[0].field)
        self.errors = errors

    def __str__(self) -> str:
        return self.message


class RateLimited(QfError):
    """Too many requests for now: the client may retry after `retry_after` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class BudgetExceeded(QfError):
    """The monthly budget is spent: retrying cannot help before the next month, so the
    response tells SDKs not to (`x-should-retry: false`, honoured by OpenAI's and
    Anthropic's)."""

    status = 429
    code = "budget_exceeded"
