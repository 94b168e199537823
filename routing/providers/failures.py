"""Turning failures into ProviderError, shared by every adapter: transport errors, HTTP
error statuses and their bodies, and error events inside a 200 stream. Every text is
redacted and truncated here (`clean`) before it leaves an adapter.

The categories of failures below HTTP follow one rule: `refused` means no reply at all (a
retry is safe), `bad_response` means a reply began and then broke or made no sense (bytes
were read: no retry, RELIABILITY.md R8), `timeout` means silence.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx

from qfweb.redact import redact
from routing.providers.base import ERROR_TEXT_LIMIT, Category, ProviderError, Secrets


def transport_error(
    exc: httpx.HTTPError, secret: Secrets, *, reading: bool = False
) -> ProviderError:
    """The category of a failure below HTTP: no status, maybe no connection at all.
    `reading`: the status line had arrived and the body was being read."""
    text = clean(f"{type(exc).__name__}: {exc}", secret)
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError(Category.TIMEOUT, text, connect=True)
    # Refused, DNS, TLS, a proxy that would not connect, a scheme httpx cannot speak.
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError | httpx.UnsupportedProtocol):
        return ProviderError(Category.REFUSED, text, connect=True)
    if isinstance(exc, httpx.TimeoutException):  # read, write, pool
        return ProviderError(Category.TIMEOUT, text)
    if reading or isinstance(exc, httpx.TooManyRedirects | httpx.DecodingError):
        # A reply that broke off (short body, cut stream, reset mid-body) or could not be
        # decoded: part of it was read, so it is not retried like a refused connection.
        return ProviderError(Category.BAD_RESPONSE, text)
    # ReadError, WriteError, RemoteProtocolError before the status line: the connection
    # broke after it was made, without a reply.
    return ProviderError(Category.REFUSED, text)


def category_of(status: int) -> Category:
    """What an HTTP error status means, before any provider quirk."""
    if status in (401, 403):
        return Category.AUTH
    if status == 404:
        return Category.UNKNOWN_MODEL
    if status == 408:
        return Category.TIMEOUT
    if status == 429:
        return Category.RATE_LIMITED
    if status >= 500:  # includes Anthropic's 529 overloaded
        return Category.SERVER_ERROR
    if 300 <= status < 400:  # redirects are never followed (RELIABILITY.md, SSRF 3)
        return Category.BAD_RESPONSE
    return Category.BAD_REQUEST


def status_error(
    response: httpx.Response,
    detail: str,
    secret: Secrets,
    *,
    param: str | None = None,
    category: Category | None = None,
) -> ProviderError:
    status = response.status_code
    text = clean(f"HTTP {status}: {detail}" if detail else f"HTTP {status}", secret)
    category = category or category_of(status)
    wait = retry_after(response.headers) if category is Category.RATE_LIMITED else None
    return ProviderError(category, text, status=status, retry_after=wait, param=param)


# Error `type` / `code` / `status` strings of the wire APIs, for errors that arrive inside a
# 200 stream and so carry no HTTP status of their own.
ERROR_TYPES: dict[str, Category] = {
    "rate_limit_error": Category.RATE_LIMITED,  # Anthropic
    "rate_limit_exceeded": Category.RATE_LIMITED,  # OpenAI
    "resource_exhausted": Category.RATE_LIMITED,  # Gemini
    "overloaded_error": Category.SERVER_ERROR,
    "api_error": Category.SERVER_ERROR,
    "server_error": Category.SERVER_ERROR,
    "internal": Category.SERVER_ERROR,
    "unavailable": Category.SERVER_ERROR,
    "timeout_error": Category.TIMEOUT,
    "deadline_exceeded": Category.TIMEOUT,
    "authentication_error": Category.AUTH,
    "permission_error": Category.AUTH,
    "billing_error": Category.AUTH,
    "invalid_api_key": Category.AUTH,
    "unauthenticated": Category.AUTH,
    "permission_denied": Category.AUTH,
    "not_found_error": Category.UNKNOWN_MODEL,
    "model_not_found": Category.UNKNOWN_MODEL,
    "not_found": Category.UNKNOWN_MODEL,
    "invalid_request_error": Category.BAD_REQUEST,
    "request_too_large": Category.BAD_REQUEST,
    "invalid_argument": Category.BAD_REQUEST,
}


def event_error(error: Any, secret: Secrets) -> ProviderError:
    """The ProviderError of an error event inside a stream (OpenRouter and Gemini send
    `{"error": {...}}`, Anthropic `event: error`). A numeric code is read as an HTTP status;
    an unknown error is a server error: the upstream failed while answering."""
    if not isinstance(error, dict):
        return ProviderError(Category.SERVER_ERROR, clean(f"stream error: {error}", secret))
    code = error.get("code")
    category = category_of(code) if isinstance(code, int) and code >= 300 else None
    for key in ("type", "code", "status"):
        value = error.get(key)
        if category is None and isinstance(value, str):
            category = ERROR_TYPES.get(value.lower())
    message = error.get("message") or error.get("type") or ""
    text = clean(f"stream error: {message}", secret)
    param = error.get("param")
    return ProviderError(
        category or Category.SERVER_ERROR, text, param=param if isinstance(param, str) else None
    )


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from `retry-after-ms` (OpenAI, Anthropic) or `Retry-After` (seconds or an
    HTTP date), or None."""
    if ms := headers.get("retry-after-ms"):
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


def error_detail(body: bytes) -> tuple[str, str | None]:
    """The provider's own message (and offending parameter) from an error body in any of
    the shapes the wire APIs use: OpenAI / Gemini `{"error": {...}}`, Anthropic
    `{"type": "error", "error": {...}}`, Ollama `{"error": "..."}`, ElevenLabs
    `{"detail": {"status", "message"}}`, FastAPI (A1111) `{"detail": "..." | [...]}`, or
    plain text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:ERROR_TEXT_LIMIT].decode("utf-8", "replace").strip(), None
    if not isinstance(data, dict):
        return "", None
    error, detail = data.get("error"), data.get("detail")
    if isinstance(error, str):  # Ollama; A1111 adds the detail: {"error": "HTTPException", ...}
        return (f"{error}: {detail}" if isinstance(detail, str) and detail else error), None
    if isinstance(error, dict):
        message = error.get("message") or error.get("status") or error.get("type") or ""
        param = error.get("param")
        return str(message), param if isinstance(param, str) else None
    if isinstance(detail, str):
        return detail, None
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("status") or ""), None
    if isinstance(detail, list):  # FastAPI validation errors: [{"loc": [...], "msg": ...}]
        messages = (str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
        return "; ".join(messages), None
    return "", None


def bad_response(what: str, secret: Secrets = "") -> ProviderError:
    return ProviderError(Category.BAD_RESPONSE, clean(what, secret))


def clean(text: str, secret: Secrets = "") -> str:
    """Redacted first (a cut could split a secret), then truncated."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    text = redact(text, [s for s in secrets if s])
    return text if len(text) <= ERROR_TEXT_LIMIT else text[: ERROR_TEXT_LIMIT - 1] + "…"
