"""What every adapter shares: the call it gets, the result it returns, the errors it raises
(STYLE B-4, B-5). An adapter builds the request from merged parameters, parses the reply,
and classifies failures; only `routing.engine` decides what a failure means.

The categories of failures below HTTP follow one rule: `refused` means no reply at all (a
retry is safe), `bad_response` means a reply began and then broke or made no sense (bytes
were read: no retry, RELIABILITY.md R8), `timeout` means silence.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from httpx_sse import EventSource, SSEError, ServerSentEvent

from qfweb.redact import redact

ERROR_TEXT_LIMIT = 500  # upstream error text kept, after redaction (RELIABILITY.md, SSRF 5)
MAX_BODY_BYTES = 32 * 1024 * 1024  # an upstream reply larger than this is a bad response

Secrets = str | Iterable[str]  # the credential, or every form of it a request carried


class Category(StrEnum):
    TIMEOUT = "timeout"
    REFUSED = "refused"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    BAD_RESPONSE = "bad_response"
    AUTH = "auth"
    UNKNOWN_MODEL = "unknown_model"
    BAD_REQUEST = "bad_request"


class ProviderError(Exception):
    """One failed call, classified. `connect` is True when no connection was made (DNS,
    TLS, refused, connect timeout): the engine then blames the provider, not the model.
    `message` is already redacted and truncated; `param` is the provider's name for the
    offending field of a bad request, when it says."""

    def __init__(
        self,
        category: Category,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        connect: bool = False,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.category = category
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.connect = connect
        self.param = param

    def __repr__(self) -> str:
        return f"ProviderError({self.category}, {self.message!r}, status={self.status})"


@dataclass(frozen=True, slots=True)
class Message:
    role: str  # system | user | assistant
    content: str


@dataclass(frozen=True, slots=True)
class Call:
    """One request to one model, as the engine hands it to an adapter."""

    model: str  # the model's name at the provider
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)  # our names, merged and validated
    param_map: Mapping[str, str] = field(default_factory=dict)  # the model's own renames
    secret: str = ""  # the credential; never logged, scrubbed from every error text
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60, connect=5))
    request_id: str = ""
    modality: str = "text"  # of the model; the echo provider serves all three

    @property
    def system(self) -> str:
        return "\n\n".join(m.content for m in self.messages if m.role == "system")

    @property
    def prompt(self) -> str:
        """The text an image or speech model renders: the last user message."""
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")

    def chat(self) -> list[dict[str, str]]:
        """The conversation without system messages, for APIs that take the system apart."""
        return [{"role": m.role, "content": m.content} for m in self.messages if m.role != "system"]


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole reply: text, or bytes with their mime type."""

    text: str | None = None
    data: bytes | None = None
    mime_type: str = "text/plain"
    tokens_in: int | None = None  # None when the provider did not say
    tokens_out: int | None = None
    finish_reason: str | None = None
    provider_request_id: str = ""
    images: int = 0  # billing units of image and speech replies
    characters: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of streamed content."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """What a stream says about itself besides content. Adapters yield one whenever the
    stream reveals something new, each carrying everything known so far, so the last one
    is complete (Anthropic and Gemini report usage more than once)."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str | None = None
    provider_request_id: str | None = None


StreamEvent = Delta | StreamInfo


@dataclass
class Tally:
    """The StreamInfo of a stream in progress."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str | None = None
    provider_request_id: str | None = None

    def info(self) -> StreamInfo:
        return StreamInfo(
            self.tokens_in, self.tokens_out, self.finish_reason, self.provider_request_id or None
        )


class Adapter:
    """One wire API. Subclasses set `kind`, `param_names`, and implement `complete` (and
    `stream` for text APIs); they use `send` / `open_stream`, which classify failures."""

    kind: ClassVar[str]
    streams: ClassVar[bool] = False
    # Our parameter name -> the provider's; parameters missing here are not sent unless the
    # model's `param_map` names them (source document 001, parameter mapping).
    param_names: ClassVar[Mapping[str, str]] = {}
    # Parameters the provider takes only as a list: a single string is sent as [string].
    list_params: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def complete(self, call: Call) -> Completion:
        raise NotImplementedError

    def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError(f"{self.kind} does not stream")

    # ---- shared helpers ------------------------------------------------------------

    def provider_params(self, call: Call) -> dict[str, Any]:
        """The call's parameters under the provider's names; `custom` is merged as it is."""
        return {**self.mapped_params(call), **self.custom_params(call)}

    def mapped_params(self, call: Call) -> dict[str, Any]:
        """The call's parameters under the provider's names, without `custom`."""
        out: dict[str, Any] = {}
        for name, value in call.params.items():
            if name == "custom":
                continue
            target = call.param_map.get(name) or self.param_names.get(name)
            if target:
                listed = name in self.list_params and isinstance(value, str)
                out[target] = [value] if listed else value
        return out

    def custom_params(self, call: Call) -> dict[str, Any]:
        """Provider-specific extras, sent as they are."""
        return dict(call.params.get("custom") or {})

    def headers(self, call: Call) -> dict[str, str]:
        """Authentication and other headers for this call."""
        return {"Authorization": f"Bearer {call.secret}"} if call.secret else {}

    def secrets(self, call: Call) -> tuple[str, ...]:
        """Every form of the credential the request carries, scrubbed from error texts."""
        return (call.secret,) if call.secret else ()

    def _request(self, call: Call, url: str, json_body: Any, params: Any) -> httpx.Request:
        try:
            request = self.client.build_request(
                "POST", url, json=json_body, params=params, headers=self.headers(call),
                timeout=call.timeout,
            )
        except httpx.InvalidURL as exc:
            text = clean(f"invalid URL: {exc}", self.secrets(call))
            raise ProviderError(Category.REFUSED, text, connect=True) from None
        if not 0 < (request.url.port or 80) < 65536:  # else the socket layer raises, unclassified
            raise ProviderError(Category.REFUSED, f"invalid port {request.url.port}", connect=True)
        return request

    async def send(
        self, call: Call, url: str, *, json_body: Any, params: Any = None
    ) -> httpx.Response:
        """POST and read the whole reply; raises ProviderError for any failure, including
        a redirect, which is never followed (RELIABILITY.md, SSRF 3)."""
        secrets = self.secrets(call)
        request = self._request(call, url, json_body, params)
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise transport_error(exc, secrets) from None
        try:
            body = await read_capped(response)
        except httpx.HTTPError as exc:
            raise transport_error(exc, secrets, reading=True) from None
        finally:
            await response.aclose()
        if response.status_code >= 300:
            self.raise_for_response(response, body, secrets)
        return response

    @asynccontextmanager
    async def open_stream(
        self, call: Call, url: str, *, json_body: Any, params: Any = None
    ) -> AsyncIterator[httpx.Response]:
        """POST and yield the response with its body unread; an error status is raised
        before anything is yielded. Closing the context closes the upstream connection."""
        secrets = self.secrets(call)
        request = self._request(call, url, json_body, params)
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise transport_error(exc, secrets) from None
        try:
            if response.status_code >= 300:
                try:
                    body = await read_capped(response)
                except httpx.HTTPError as exc:
                    raise transport_error(exc, secrets, reading=True) from None
                self.raise_for_response(response, body, secrets)
            yield response
        finally:
            await response.aclose()

    def raise_for_response(self, response: httpx.Response, body: bytes, secret: Secrets) -> None:
        """Raise the ProviderError an error status means. Subclasses override for quirks
        (link the provider's doc in a comment)."""
        detail, param = error_detail(body)
        raise status_error(response, detail, secret, param=param)


# ---- classification, shared by every adapter ---------------------------------------------


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


async def read_capped(response: httpx.Response) -> bytes:
    """The whole body, refusing one larger than MAX_BODY_BYTES (RELIABILITY.md, API10)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise bad_response(f"reply larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    response._content = body  # so .json() and .content work after the stream is read
    return body


def parse_json(response: httpx.Response, secret: Secrets = "") -> Any:
    return parse_data(response.content, secret)


def parse_data(data: str | bytes, secret: Secrets = "") -> Any:
    """JSON from a body, an SSE `data:` field or an NDJSON line, or a bad_response."""
    try:
        return json.loads(data)
    except ValueError:
        snippet = data[:120] if isinstance(data, str) else data[:120].decode("utf-8", "replace")
        raise bad_response(f"reply is not JSON: {snippet!r}", secret) from None


def dig(data: Any, *path: str | int, secret: Secrets = "") -> Any:
    """data[path0][path1]..., or a bad_response naming the missing piece."""
    here = data
    for step in path:
        try:
            here = here[step]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{s!r}]" for s in path)
            raise bad_response(f"reply lacks {where}", secret) from None
    return here


def opt(data: Any, *path: str | int) -> Any:
    """data[path0][path1]..., or None when any piece is missing: for the optional parts of
    an untrusted reply."""
    here = data
    for step in path:
        try:
            here = here[step]
        except (KeyError, IndexError, TypeError):
            return None
    return here


def count(value: Any) -> int | None:
    """A token count from a reply, or None when it is missing or not a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def finish(reason: Any, table: dict[str, str]) -> str | None:
    """A provider's finish reason in OpenAI's words (stop, length, content_filter,
    tool_calls), which is what qfweb records and serves on /v1; unknown ones pass through."""
    if not isinstance(reason, str) or not reason:
        return None
    return table.get(reason, reason.lower())


# ---- reading streams, by wire format ---------------------------------------------------


async def sse_events(response: httpx.Response, secret: Secrets) -> AsyncIterator[ServerSentEvent]:
    """The server-sent events of a response, parsed as they arrive (OpenAI, Anthropic,
    Gemini). A reply that is not an event stream is a bad response."""
    try:
        async for event in EventSource(response).aiter_sse():
            yield event
    except SSEError as exc:  # an httpx.TransportError, so caught first
        raise bad_response(f"not an event stream: {exc}", secret) from None
    except httpx.HTTPError as exc:
        raise transport_error(exc, secret, reading=True) from None


async def json_lines(response: httpx.Response, secret: Secrets) -> AsyncIterator[Any]:
    """The objects of a newline-delimited JSON stream (Ollama), parsed as they arrive."""
    try:
        async for line in response.aiter_lines():
            if line.strip():
                yield parse_data(line, secret)
    except httpx.HTTPError as exc:
        raise transport_error(exc, secret, reading=True) from None


# ---- media ---------------------------------------------------------------------------------

IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def image_mime(data: bytes) -> str | None:
    """The mime type of image bytes by their magic number, or None if not an image."""
    for magic, mime in IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_image(encoded: Any, secret: Secrets = "") -> tuple[bytes, str]:
    """Bytes and mime type of a base64 image from a reply, or a bad_response."""
    if not isinstance(encoded, str):
        raise bad_response("reply image is not a base64 string", secret)
    if encoded.startswith("data:"):  # some servers send a data URL
        encoded = encoded.partition(",")[2]
    try:
        data = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        raise bad_response("reply image is not valid base64", secret) from None
    mime = image_mime(data)
    if mime is None:
        raise bad_response("reply image is not PNG, JPEG, GIF or WebP", secret)
    return data, mime


def audio_reply(
    response: httpx.Response, expected: str | None, secret: Secrets
) -> tuple[bytes, str]:
    """The bytes and mime type of an audio reply: the type its format implies, else the
    reply's own. A 200 with JSON or HTML (a proxy, a captive portal) or nothing is not audio."""
    content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type.startswith("text/") or "json" in content_type:
        raise bad_response(f"reply is {content_type}, not audio", secret)
    if not response.content:
        raise bad_response("reply has no audio", secret)
    own = content_type if content_type.startswith("audio/") else "application/octet-stream"
    return response.content, expected or own
