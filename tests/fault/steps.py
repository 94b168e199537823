"""The behaviours a model can be programmed with: one step answers one request."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Ok:
    text: str | None = None
    tokens_in: int = 11
    tokens_out: int = 7
    usage: bool = True
    finish: str = "stop"

    def pieces(self, model: str | None) -> tuple[str, ...]:
        text = self.text if self.text is not None else f"Hello from {model}"
        # Split on spaces, keeping them, so the pieces join back to the exact text.
        return tuple(re.findall(r"\s*\S+\s*|\s+", text))


@dataclass(frozen=True)
class Stream:
    chunks: tuple[str, ...] = ("Hel", "lo")
    delay: float = 0.0
    usage: bool = True
    cut_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 30.0
    tokens_in: int = 11
    tokens_out: int = 7
    error_event: str | None = None


@dataclass(frozen=True)
class Status:
    code: int
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    message: str | None = None
    echo_key: bool = False
    param: str | None = None


@dataclass(frozen=True)
class Stall:
    seconds: float


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class Malformed:
    pass


@dataclass(frozen=True)
class Truncated:
    pass


@dataclass(frozen=True)
class Html:
    status: int = 200


@dataclass(frozen=True)
class Redirect:
    location: str = "http://169.254.169.254/latest/meta-data/"


Step = Ok | Stream | Status | Stall | Reset | Malformed | Truncated | Html | Redirect


def ok(text=None, tokens_in=11, tokens_out=7, usage=True, finish="stop") -> Ok:
    """A normal reply; streamed in pieces split on spaces when the request streams."""
    return Ok(text, tokens_in, tokens_out, usage, finish)


def stream(
    chunks=("Hel", "lo"),
    delay=0.0,
    usage=True,
    cut_after=None,
    stall_after=None,
    stall_s=30.0,
    tokens_in=11,
    tokens_out=7,
    error_event=None,
) -> Stream:
    """An explicit stream: drip (`delay`), cut, stall or error after some content events."""
    return Stream(
        tuple(chunks), delay, usage, cut_after, stall_after, stall_s, tokens_in, tokens_out,
        error_event,
    )


def status(code, retry_after=None, retry_after_ms=None, message=None, echo_key=False, param=None):
    """That HTTP status with the wire API's own error body."""
    return Status(code, retry_after, retry_after_ms, message, echo_key, param)


def stall(seconds) -> Stall:
    """Read the request, then send nothing at all (not even a status line)."""
    return Stall(seconds)


def reset() -> Reset:
    """Read the request, then close with a TCP RST before any byte of reply."""
    return Reset()


def malformed() -> Malformed:
    """200 with a body that does not parse (JSON, SSE or NDJSON as the request expects)."""
    return Malformed()


def truncated() -> Truncated:
    """200 whose Content-Length promises more bytes than are sent before the close."""
    return Truncated()


def html(status=200) -> Html:
    """An HTML page where JSON was expected, as a captive portal or proxy sends."""
    return Html(status)


def redirect(location="http://169.254.169.254/latest/meta-data/") -> Redirect:
    """302 to `location` (by default the cloud metadata address a client must not follow)."""
    return Redirect(location)
