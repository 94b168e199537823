"""What every wire API module provides: one Endpoint per route, rendering answers, errors and
streams as plain bytes; the server decides when (and whether) those bytes go out."""
from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from tests.fault.httpio import Request

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
BASE62 = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Answer:
    """A successful reply before it is put in any wire format."""

    model: str | None
    pieces: tuple[str, ...]
    tokens_in: int
    tokens_out: int
    usage: bool
    finish: str  # OpenAI's words (stop, length, tool_calls, content_filter); each API maps them
    known_models: tuple[str, ...] = ()  # for listings: the programmed model names
    page_size: int | None = None  # for paged listings: the largest page (FaultServer.page_size)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Failure:
    """An error reply before it is put in the API's error shape."""

    code: int
    message: str
    param: str | None = None
    retry_after: float | str | None = None


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StreamPlan:
    """The frames of a streamed reply; `content` are the events that carry text, the ones
    `cut_after` / `stall_after` / `delay` count."""

    content_type: str
    prelude: list[bytes]
    content: list[bytes]
    ending: list[bytes]

    def body(self) -> bytes:
        return b"".join(self.prelude + self.content + self.ending)


def json_reply(obj: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(obj).encode(), JSON, headers)


def sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def random_id(length: int, alphabet: str = BASE62) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def body_dict(req: Request) -> dict:
    return req.json if isinstance(req.json, dict) else {}


def page_size(req: Request, answer: Answer, name: str, default: int, most: int = 1000) -> int:
    """The size of a listing page: what the client asked for in query `name` (else the
    API's default), bounded by the API's maximum and by the server's own page_size."""
    try:
        asked = int(req.query.get(name) or default)
    except ValueError:
        asked = default
    size = min(asked if asked > 0 else default, most)
    return min(size, answer.page_size) if answer.page_size else size


class Endpoint:
    stream_type = SSE
    garbage = b"data: {nope\n\n"

    def model(self, req: Request) -> str | None:
        model = body_dict(req).get("model")
        return model if isinstance(model, str) else None

    def streams(self, req: Request) -> bool:
        return False

    def headers(self) -> dict[str, str]:
        return {}

    def answer(self, req: Request, answer: Answer) -> Reply:
        raise NotImplementedError

    def error(self, req: Request, failure: Failure) -> Reply:
        raise NotImplementedError

    def stream(self, req: Request, answer: Answer) -> StreamPlan:
        raise NotImplementedError

    def stream_error(self, req: Request, kind: str) -> bytes:
        raise NotImplementedError
