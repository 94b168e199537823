"""What every adapter shares: the call it gets, the result it returns, the errors it raises
(STYLE B-4, B-5). An adapter builds the request from merged parameters, parses the reply,
and classifies failures; only `routing.engine` decides what a failure means.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import httpx

from qfweb.redact import redact

ERROR_TEXT_LIMIT = 500  # upstream error text kept, after redaction (RELIABILITY.md, SSRF 5)
MAX_BODY_BYTES = 32 * 1024 * 1024  # an upstream reply larger than this is a bad response


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
    """What a stream says about itself besides content; later values replace earlier ones
    (Anthropic and Gemini report usage more than once)."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str | None = None
    provider_request_id: str | None = None


StreamEvent = Delta | StreamInfo


class Adapter:
    """One wire API. Subclasses set `kind`, `param_names`, and implement `complete` (and
    `stream` for text APIs); they use `send` / `open_stream`, which classify failures."""

    kind: ClassVar[str]
    streams: ClassVar[bool] = False
    # Our parameter name -> the provider's; parameters missing here are not sent unless the
    # model's `param_map` names them (source document 001, parameter mapping).
    param_names: ClassVar[Mapping[str, str]] = {}

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
        out: dict[str, Any] = {}
        for name, value in call.params.items():
            if name == "custom":
                continue
            target = call.param_map.get(name) or self.param_names.get(name)
            if target:
                out[target] = value
        out.update(call.params.get("custom") or {})
        return out

    def headers(self, call: Call) -> dict[str, str]:
        """Authentication and other headers for this call."""
        return {"Authorization": f"Bearer {call.secret}"} if call.secret else {}

    async def send(self, call: Call, url: str, *, json_body: Any) -> httpx.Response:
        """POST and read the whole reply; raises ProviderError for any failure."""
        request = self.client.build_request(
            "POST", url, json=json_body, headers=self.headers(call), timeout=call.timeout
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.secret) from None
        try:
            body = await read_capped(response)
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.secret) from None
        finally:
            await response.aclose()
        if response.status_code >= 400:
            self.raise_for_response(response, body, call.secret)
        return response

    @asynccontextmanager
    async def open_stream(self, call: Call, url: str, *, json_body: Any) -> AsyncIterator[httpx.Response]:
        """POST and yield the response with its body unread; an error status is raised
        before anything is yielded. Closing the context closes the upstream connection."""
        request = self.client.build_request(
            "POST", url, json=json_body, headers=self.headers(call), timeout=call.timeout
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.secret) from None
        try:
            if response.status_code >= 400:
                try:
                    body = await read_capped(response)
                except httpx.HTTPError as exc:
                    raise transport_error(exc, call.secret) from None
                self.raise_for_response(response, body, call.secret)
            yield response
        finally:
            await response.aclose()

    def raise_for_response(self, response: httpx.Response, body: bytes, secret: str) -> None:
        """Raise the ProviderError an error status means. Subclasses override for quirks
        (link the provider's doc in a comment)."""
        detail, param = error_detail(body)
        raise status_error(response, detail, secret, param=param)


# ---- classification, shared by every adapter ---------------------------------------------


def transport_error(exc: httpx.HTTPError, secret: str) -> ProviderError:
    """The category of a failure below HTTP: no status, maybe no connection at all."""
    text = clean(f"{type(exc).__name__}: {exc}", secret)
    if isinstance(exc, httpx.ConnectTimeout):
        return ProviderError(Category.TIMEOUT, text, connect=True)
    if isinstance(exc, httpx.ConnectError):  # refused, DNS, TLS
        return ProviderError(Category.REFUSED, text, connect=True)
    if isinstance(exc, httpx.TimeoutException):  # read, write, pool
        return ProviderError(Category.TIMEOUT, text)
    if isinstance(exc, httpx.TooManyRedirects | httpx.DecodingError):
        return ProviderError(Category.BAD_RESPONSE, text)
    # ReadError, WriteError, RemoteProtocolError: the connection broke after it was made.
    return ProviderError(Category.REFUSED, text)


def status_error(
    response: httpx.Response, detail: str, secret: str, *, param: str | None = None
) -> ProviderError:
    status = response.status_code
    text = clean(f"HTTP {status}: {detail}" if detail else f"HTTP {status}", secret)
    if status in (401, 403):
        category = Category.AUTH
    elif status == 404:
        category = Category.UNKNOWN_MODEL
    elif status == 408:
        category = Category.TIMEOUT
    elif status == 429:
        return ProviderError(
            Category.RATE_LIMITED, text, status=status, retry_after=retry_after(response.headers)
        )
    elif status >= 500:  # includes Anthropic's 529 overloaded
        category = Category.SERVER_ERROR
    elif 300 <= status < 400:  # redirects are never followed (RELIABILITY.md, SSRF 3)
        category = Category.BAD_RESPONSE
    else:
        category = Category.BAD_REQUEST
    return ProviderError(category, text, status=status, param=param)


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
    `{"type": "error", "error": {...}}`, Ollama `{"error": "..."}`, or plain text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:ERROR_TEXT_LIMIT].decode("utf-8", "replace").strip(), None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        return error, None
    if isinstance(error, dict):
        message = error.get("message") or error.get("status") or error.get("type") or ""
        param = error.get("param")
        return str(message), param if isinstance(param, str) else None
    if isinstance(data, dict) and isinstance(data.get("detail"), str):  # ElevenLabs, A1111
        return data["detail"], None
    return "", None


def bad_response(what: str, secret: str = "") -> ProviderError:
    return ProviderError(Category.BAD_RESPONSE, clean(what, secret))


def clean(text: str, secret: str = "") -> str:
    """Redacted first (a cut could split a secret), then truncated."""
    text = redact(text, [secret] if secret else [])
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


def parse_json(response: httpx.Response, secret: str = "") -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        snippet = response.content[:120].decode("utf-8", "replace")
        raise bad_response(f"reply is not JSON: {snippet!r}", secret) from None


def dig(data: Any, *path: str | int, secret: str = "") -> Any:
    """data[path0][path1]..., or a bad_response naming the missing piece."""
    here = data
    for step in path:
        try:
            here = here[step]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{s!r}]" for s in path)
            raise bad_response(f"reply lacks {where}", secret) from None
    return here
