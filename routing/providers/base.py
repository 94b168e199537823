"""What every adapter shares: the call it gets, the result it returns, the errors it raises
(STYLE B-4, B-5). An adapter builds the request from merged parameters, parses the reply,
and classifies failures; only `routing.engine` decides what a failure means. The Adapter
class itself is in `adapter`, the classification in `failures`, reply reading in `wire`
and image and audio replies in `media`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import httpx

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
    secret: str = field(default="", repr=False)  # the credential; never logged, scrubbed from every error text
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
