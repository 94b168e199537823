from __future__ import annotations

import httpx
import pytest

from routing.providers import adapter_class
from routing.providers.base import Call, Delta, Message, ProviderError, StreamInfo

KEY = "k3y-Secret-Value-0042"  # matches no redaction pattern: only the exact-value scrub hides it


@pytest.fixture(scope="session")
def tls():
    # Loading the CA bundle takes ~50 ms, which a client per test would pay every time.
    return httpx.create_ssl_context()


@pytest.fixture
async def client(tls):
    async with httpx.AsyncClient(verify=tls) as client:
        yield client


@pytest.fixture
def make(client):
    """make(kind, base_url) -> that kind's adapter on the shared client."""
    return lambda kind, base_url: adapter_class(kind)(client, base_url)


def chat(model: str = "m", *, user: str = "Say hi", **fields) -> Call:
    """A text call with one user message; keyword fields override Call's."""
    return Call(model=model, messages=(Message("user", user),), **fields)


async def drain(events) -> tuple[list, ProviderError | None]:
    """Every event of a stream, and the error that ended it, if one did."""
    seen = []
    try:
        async for event in events:
            seen.append(event)
    except ProviderError as error:
        return seen, error
    return seen, None


def texts(events) -> list[str]:
    return [e.text for e in events if isinstance(e, Delta)]


def last_info(events) -> StreamInfo:
    infos = [e for e in events if isinstance(e, StreamInfo)]
    assert infos, "the stream reported no StreamInfo"
    return infos[-1]


def canned(status: int = 200, body: bytes = b"", **headers: str) -> httpx.AsyncClient:
    """A client whose every request gets this reply, for payloads the fault server cannot
    produce (a blocked Gemini prompt, a WebUI batch grid)."""
    reply = httpx.Response(status, content=body, headers=headers)
    return httpx.AsyncClient(transport=httpx.MockTransport(lambda request: reply))
