"""Every network adapter classifies every failure the same way (STYLE B-5), over real HTTP
against the fault server: the category, status, retry_after and connect flag the engine
acts on, and never the credential in the error text."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from routing.providers import KINDS, adapter_class
from routing.providers import base as providers_base
from routing.providers.base import Call, Category, Message, ProviderError
from tests.fault import (
    closed_port_url,
    html,
    malformed,
    ok,
    redirect,
    reset,
    stall,
    status,
    stream,
    truncated,
)
from tests.routing.providers.conftest import KEY, drain, last_info, texts


@dataclass(frozen=True)
class Kind:
    suffix: str  # the provider's base URL is fault.url + suffix
    modality: str
    params: dict[str, Any] = field(default_factory=dict)
    secret: str = KEY
    openai_errors: bool = False  # OpenAI's error shape, which names the parameter


KIND = {
    "openai": Kind("/v1", "text", openai_errors=True),
    "anthropic": Kind("", "text"),
    "gemini": Kind("/v1beta", "text"),
    "ollama": Kind("", "text"),
    "openai_images": Kind("/v1", "image", openai_errors=True),
    "a1111": Kind("", "image", secret=f"webui:{KEY}"),  # --api-auth user:pass
    "openai_tts": Kind("/v1", "audio", openai_errors=True),
    "elevenlabs": Kind("", "audio", {"voice": "voice-1"}),
}
STREAMING = [kind for kind in KIND if adapter_class(kind).streams]
# Each network kind through complete(); the streaming kinds through stream() as well.
MODES = [(kind, "complete") for kind in KIND] + [(kind, "stream") for kind in STREAMING]
QUICK = httpx.Timeout(2, connect=1)


def call_for(kind: str, *, timeout: httpx.Timeout = QUICK) -> Call:
    spec = KIND[kind]
    return Call(
        model="m",
        messages=(Message("user", "Say hi"),),
        params=spec.params,
        secret=spec.secret,
        timeout=timeout,
        modality=spec.modality,
    )


async def fail(adapter, call: Call, mode: str) -> tuple[list, ProviderError]:
    """Run the call; return the stream events seen before the error, and the error."""
    if mode == "stream":
        events, error = await drain(adapter.stream(call))
        assert error is not None, f"the stream ended without an error: {events}"
        return events, error
    with pytest.raises(ProviderError) as caught:
        await adapter.complete(call)
    return [], caught.value


def assert_no_secret(error: ProviderError, kind: str) -> None:
    basic = base64.b64encode(KIND[kind].secret.encode()).decode()  # A1111's Basic form
    for text in (str(error), error.message, repr(error)):
        assert KEY not in text
        assert basic not in text


@dataclass(frozen=True)
class Failure:
    step: Any
    category: Category
    status: int | None = None
    retry_after: float | None = None
    connect: bool = False


FAILURES = {
    "timeout": Failure(stall(5), Category.TIMEOUT),
    "reset_before_reply": Failure(reset(), Category.REFUSED),
    "429_retry_after": Failure(status(429, retry_after=7), Category.RATE_LIMITED, 429, 7.0),
    "429_retry_after_ms": Failure(
        status(429, retry_after_ms=1500), Category.RATE_LIMITED, 429, 1.5
    ),
    "500": Failure(status(500), Category.SERVER_ERROR, 500),
    "503": Failure(status(503), Category.SERVER_ERROR, 503),
    "529": Failure(status(529), Category.SERVER_ERROR, 529),
    "malformed": Failure(malformed(), Category.BAD_RESPONSE),
    "truncated": Failure(truncated(), Category.BAD_RESPONSE),
    "html_200": Failure(html(), Category.BAD_RESPONSE),
    "html_502": Failure(html(502), Category.SERVER_ERROR, 502),
    "redirect": Failure(redirect(), Category.BAD_RESPONSE, 302),
    "401_echoing_the_key": Failure(status(401, echo_key=True), Category.AUTH, 401),
    "403": Failure(status(403), Category.AUTH, 403),
    "404": Failure(status(404), Category.UNKNOWN_MODEL, 404),
}


@pytest.mark.parametrize("name", FAILURES)
@pytest.mark.parametrize(("kind", "mode"), MODES)
async def test_it_classifies_the_failure(fault, make, kind, mode, name):
    expected = FAILURES[name]
    fault.program("m", expected.step)
    timeout = httpx.Timeout(0.2, connect=1) if name == "timeout" else QUICK
    adapter = make(kind, fault.url + KIND[kind].suffix)

    started = time.monotonic()
    _, error = await fail(adapter, call_for(kind, timeout=timeout), mode)

    assert (error.category, error.status, error.retry_after, error.connect) == (
        expected.category, expected.status, expected.retry_after, expected.connect
    ), error.message
    assert_no_secret(error, kind)
    assert time.monotonic() - started < 1
    assert len(fault.requests) == 1  # no retry, and a redirect is not followed


@pytest.mark.parametrize(("kind", "mode"), MODES)
async def test_it_reports_a_closed_port_as_refused_before_connecting(make, kind, mode):
    adapter = make(kind, closed_port_url() + KIND[kind].suffix)

    _, error = await fail(adapter, call_for(kind), mode)

    assert (error.category, error.status, error.connect) == (Category.REFUSED, None, True)
    assert_no_secret(error, kind)


UNCALLABLE = ["no-scheme", "ftp://x.test", "http://[::1", "http://127.0.0.1:99999"]


@pytest.mark.parametrize("url", UNCALLABLE)
@pytest.mark.parametrize(("kind", "mode"), MODES)
async def test_a_base_url_that_cannot_be_called_is_refused_before_connecting(make, kind, mode, url):
    _, error = await fail(make(kind, url), call_for(kind), mode)

    assert (error.category, error.connect) == (Category.REFUSED, True)


@pytest.mark.parametrize(("kind", "mode"), MODES)
async def test_it_names_the_bad_parameter_of_a_400(fault, make, kind, mode):
    fault.program("m", status(400, message="temperature is out of range", param="temperature"))
    adapter = make(kind, fault.url + KIND[kind].suffix)

    _, error = await fail(adapter, call_for(kind), mode)

    assert (error.category, error.status) == (Category.BAD_REQUEST, 400)
    assert "temperature is out of range" in error.message
    # Only OpenAI's error shape has a `param`; the others say it in words.
    assert error.param == ("temperature" if KIND[kind].openai_errors else None)


@pytest.mark.parametrize(("kind", "mode"), MODES)
async def test_it_refuses_a_reply_larger_than_the_cap(fault, make, monkeypatch, kind, mode):
    monkeypatch.setattr(providers_base, "MAX_BODY_BYTES", 1000)
    if mode == "stream":  # the cap guards whole bodies; an error body before a stream is one
        fault.program("m", status(500, message="x" * 5000))
    else:
        fault.program("m", ok(text="x" * 5000))  # audio replies are 1.2 KB of MP3 anyway
    adapter = make(kind, fault.url + KIND[kind].suffix)

    _, error = await fail(adapter, call_for(kind), mode)

    assert error.category == Category.BAD_RESPONSE
    assert "larger than 1000 bytes" in error.message


# ---- streams ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", STREAMING)
async def test_it_streams_the_text_and_its_usage(fault, make, kind):
    fault.program("m", ok(text="Hello there, big world", tokens_in=13, tokens_out=5))
    adapter = make(kind, fault.url + KIND[kind].suffix)

    events, error = await drain(adapter.stream(call_for(kind)))

    assert error is None
    assert "".join(texts(events)) == "Hello there, big world"
    assert len(texts(events)) == 4  # incremental: one Delta per chunk the server sent
    info = last_info(events)
    assert (info.tokens_in, info.tokens_out, info.finish_reason) == (13, 5, "stop")


@pytest.mark.parametrize("kind", STREAMING)
async def test_it_reports_no_tokens_when_the_stream_has_no_usage(fault, make, kind):
    fault.program("m", ok(text="Hello there", usage=False))
    adapter = make(kind, fault.url + KIND[kind].suffix)

    events, error = await drain(adapter.stream(call_for(kind)))

    assert error is None
    assert "".join(texts(events)) == "Hello there"
    info = last_info(events)
    assert (info.tokens_in, info.tokens_out, info.finish_reason) == (None, None, "stop")


@pytest.mark.parametrize("kind", STREAMING)
async def test_a_stream_cut_mid_way_is_a_bad_response_after_its_chunks(fault, make, kind):
    # The connection closes mid-body: part of the reply was read, so it is not a refused
    # connection (which the engine may retry) but a broken reply.
    fault.program("m", stream(chunks=("a", "b", "c", "d"), cut_after=2))
    adapter = make(kind, fault.url + KIND[kind].suffix)

    events, error = await drain(adapter.stream(call_for(kind)))

    assert texts(events) == ["a", "b"]
    assert error is not None
    assert (error.category, error.status, error.connect) == (Category.BAD_RESPONSE, None, False)


@pytest.mark.parametrize("kind", STREAMING)
async def test_a_stream_that_stalls_times_out_after_its_chunks(fault, make, kind):
    fault.program("m", stream(chunks=("a", "b", "c"), stall_after=1))
    adapter = make(kind, fault.url + KIND[kind].suffix)
    call = call_for(kind, timeout=httpx.Timeout(0.3, connect=1))

    started = time.monotonic()
    events, error = await drain(adapter.stream(call))

    # The first Delta arrived while the server was silent: the stream is parsed as it comes.
    assert texts(events) == ["a"]
    assert error is not None
    assert (error.category, error.connect) == (Category.TIMEOUT, False)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("kind", STREAMING)
async def test_an_error_status_is_raised_before_any_event(fault, make, kind):
    fault.program("m", status(503))
    adapter = make(kind, fault.url + KIND[kind].suffix)

    events, error = await drain(adapter.stream(call_for(kind)))

    assert events == []
    assert (error.category, error.status) == (Category.SERVER_ERROR, 503)


ERROR_EVENTS = [
    # kind, error_event, category: Anthropic's mid-stream error, and each API's own form of it.
    ("anthropic", "overloaded_error", Category.SERVER_ERROR),
    ("anthropic", "api_error", Category.SERVER_ERROR),
    ("anthropic", "rate_limit_error", Category.RATE_LIMITED),
    ("openai", "overloaded_error", Category.SERVER_ERROR),
    ("openai", "rate_limit_error", Category.RATE_LIMITED),
    ("gemini", "overloaded_error", Category.SERVER_ERROR),
    ("gemini", "rate_limit_error", Category.RATE_LIMITED),
    ("ollama", "overloaded_error", Category.SERVER_ERROR),  # a bare string: a server error
]


@pytest.mark.parametrize(("kind", "event", "category"), ERROR_EVENTS)
async def test_an_error_event_after_the_chunks_raises(fault, make, kind, event, category):
    fault.program("m", stream(chunks=("a", "b"), error_event=event))
    adapter = make(kind, fault.url + KIND[kind].suffix)

    events, error = await drain(adapter.stream(call_for(kind)))

    assert texts(events) == ["a", "b"]
    assert error is not None
    assert (error.category, error.status) == (category, None)


def test_every_kind_has_an_adapter_that_says_whether_it_streams():
    streams = {kind: adapter_class(kind).streams for kind in KINDS}
    assert streams == {
        "openai": True, "anthropic": True, "gemini": True, "ollama": True, "echo": True,
        "openai_images": False, "a1111": False, "openai_tts": False, "elevenlabs": False,
    }
    assert set(KIND) == set(KINDS) - {"echo"}
