"""Every wire API through the engine over real HTTP: a plain answer, a stream, and each
failure class with its fallback and its rows; image and speech replies as bytes."""

from __future__ import annotations

from contextlib import aclosing
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from routing.engine import GenerationFailed, generate
from routing.providers.base import Delta
from routing.streaming import Finished, open_stream
from tests.fault import malformed, ok, reset, stall, status
from tests.routing.engine_setup import KEY_VAR, SECRET, build, job, outcomes, rows

pytestmark = pytest.mark.django_db(transaction=True)
TEXT_KINDS = ("openai", "anthropic", "gemini", "ollama")

# failure injected on the primary -> the outcome its Attempt row records
FAILURES = {
    "timeout": (stall(5), "timeout"),
    "reset": (reset(), "refused"),
    "rate_limited": (status(429), "rate_limited"),
    "server_error": (status(503), "http_error"),
    "overloaded": (status(529), "http_error"),
    "bad_response": (malformed(), "bad_response"),
    "auth": (status(401), "auth"),
    "unknown_model": (status(404), "unknown_model"),
}


@pytest.fixture
def wire(fault, monkeypatch, request):
    monkeypatch.setenv(KEY_VAR, SECRET)
    return build(fault.url, request.param, timeout_s=1)


@pytest.mark.parametrize("wire", TEXT_KINDS, indirect=True)
async def test_a_plain_answer(wire, fault):
    fault.program("gpt-a", ok(text="plain answer", tokens_in=4, tokens_out=2))
    result = await generate(job("a:gpt-a"))
    assert (result.output.text, result.tokens_in, result.tokens_out) == ("plain answer", 4, 2)
    generation, attempts = await rows(result.request_id)
    assert generation.status == "ok" and outcomes(attempts) == [("a:gpt-a", "ok")]
    assert generation.cost == Decimal("0.00003")  # 4 x 2.5 / 1M + 2 x 10 / 1M


@pytest.mark.parametrize("wire", TEXT_KINDS, indirect=True)
async def test_a_stream(wire, fault):
    fault.program("gpt-a", ok(text="streamed in pieces"))
    live = await open_stream(job("a:gpt-a"))
    async with aclosing(live):
        events = [event async for event in live]
    assert "".join(e.text for e in events if isinstance(e, Delta)) == "streamed in pieces"
    assert isinstance(events[-1], Finished)
    generation, attempts = await rows(live.request_id)
    assert (generation.status, generation.is_streamed) == ("ok", True)


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("wire", TEXT_KINDS, indirect=True)
async def test_each_failure_falls_back_and_is_recorded(wire, fault, failure):
    step, outcome = FAILURES[failure]
    fault.program("gpt-a", step)
    fault.program("gpt-b", ok(text="fallback"))
    result = await generate(job("a:gpt-a", "b:gpt-b"))
    assert result.output.text == "fallback"
    generation, attempts = await rows(result.request_id)
    assert generation.status == "ok_after_fallback" and generation.served_handle == "b:gpt-b"
    assert outcomes(attempts) == [("a:gpt-a", outcome), ("b:gpt-b", "ok")]
    assert SECRET not in attempts[0].error_text


@pytest.mark.parametrize("wire", TEXT_KINDS, indirect=True)
async def test_a_bad_request_stops_without_fallback(wire, fault):
    fault.program("gpt-a", status(400, message="bad temperature"))
    with pytest.raises(GenerationFailed) as failed:
        await generate(job("a:gpt-a", "b:gpt-b"))
    assert failed.value.status == 400 and "bad temperature" in failed.value.message
    assert fault.requests_for("gpt-b") == []
    generation, attempts = await rows(failed.value.request_id)
    assert generation.status == "failed" and outcomes(attempts) == [("a:gpt-a", "bad_request")]


MEDIA = {
    # kind: (modality, params, mime, units field, units, cost)
    "openai_images": ("image", {}, "image/png", "images", 1, Decimal("0.04")),
    "a1111": ("image", {}, "image/png", "images", 1, Decimal("0.04")),
    "openai_tts": ("audio", {"voice": "alloy"}, "audio/mpeg", "characters", 11, Decimal("0.000165")),
    "elevenlabs": ("audio", {"voice": "v1"}, "audio/mpeg", "characters", 11, Decimal("0.000165")),
}


@pytest.mark.parametrize("kind", MEDIA)
async def test_image_and_speech_replies_are_bytes_with_their_mime_type(kind, fault, monkeypatch):
    modality, params, mime, units, count, cost = MEDIA[kind]
    monkeypatch.setenv(KEY_VAR, SECRET)
    await sync_to_async(build)(fault.url, kind, image_price="0.04", char_price="0.015")
    result = await generate(job("a:gpt-a", prompt="Hello world", modality=modality, params=params))
    assert result.output.mime_type == mime and result.output.data
    magic = {"image/png": b"\x89PNG"}.get(mime)
    assert magic is None or result.output.data.startswith(magic)
    generation, _ = await rows(result.request_id)
    assert getattr(generation, units) == count and generation.cost == cost
