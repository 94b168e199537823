"""Reading replies, shared by every adapter: the body under a size cap, JSON from a body,
an SSE `data:` field or an NDJSON line, the pieces of an untrusted reply (`dig` for the
required ones, `opt` for the rest), token counts and finish reasons, and the events of a
stream as they arrive. A reply that breaks or makes no sense raises a bad_response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from routing.providers import base
from routing.providers.base import Secrets, StreamInfo
from routing.providers.failures import bad_response, transport_error


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


async def read_capped(response: httpx.Response) -> bytes:
    """The whole body, refusing one larger than MAX_BODY_BYTES (RELIABILITY.md, API10)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > base.MAX_BODY_BYTES:  # looked up here, not imported: tests lower it
            raise bad_response(f"reply larger than {base.MAX_BODY_BYTES} bytes")
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
