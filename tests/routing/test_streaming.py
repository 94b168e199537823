"""Streams through the engine over real HTTP (RELIABILITY.md S1, S2, S4..S7; required tests
13..17): fall back until the first content, then never silently."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from routing import circuit
from routing.circuit import State, Target
from routing.engine import GenerationFailed
from routing.providers.base import Delta
from routing.streaming import Broken, Finished, open_stream
from tests.fault import ok, status, stream
from tests.routing.engine_setup import KEY_VAR, SECRET, build, job, outcomes, rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalogue(fault, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    return build(fault.url)


async def drain(live) -> tuple[str, list]:
    events = []
    async with aclosing(live):
        async for event in live:
            events.append(event)
    return "".join(e.text for e in events if isinstance(e, Delta)), events


async def test_a_stream_relays_content_and_ends_with_one_finished_after_the_rows(catalogue, fault):
    fault.program("gpt-a", stream(chunks=("Hel", "lo ", "there"), tokens_in=5, tokens_out=3))
    live = await open_stream(job("a:gpt-a", "b:gpt-b"))
    assert live.served == "a:gpt-a"
    text, events = await drain(live)
    assert text == "Hello there"
    assert isinstance(events[-1], Finished) and sum(isinstance(e, Finished | Broken) for e in events) == 1
    generation, attempts = await rows(live.request_id)
    assert (generation.status, generation.is_streamed, generation.tokens_in, generation.tokens_out) == ("ok", True, 5, 3)
    assert generation.usage_estimated is False and generation.ttft_ms is not None
    assert generation.cost == events[-1].result.cost
    assert outcomes(attempts) == [("a:gpt-a", "ok")]
    assert fault.requests_for("gpt-a")[0].json["stream_options"] == {"include_usage": True}


async def test_a_failure_before_the_first_content_falls_back_transparently(catalogue, fault):
    """Required test 13."""
    fault.program("gpt-a", status(503))
    fault.program("gpt-b", stream(chunks=("from ", "b")))
    live = await open_stream(job("a:gpt-a", "b:gpt-b"))
    assert live.served == "b:gpt-b"
    text, _ = await drain(live)
    assert text == "from b"
    generation, attempts = await rows(live.request_id)
    assert generation.status == "ok_after_fallback"
    assert outcomes(attempts) == [("a:gpt-a", "http_error"), ("b:gpt-b", "ok")]


async def test_a_cut_before_any_content_also_falls_back(catalogue, fault):
    fault.program("gpt-a", stream(chunks=("never",), cut_after=0))
    live = await open_stream(job("a:gpt-a", "b:gpt-b"))
    assert live.served == "b:gpt-b"
    await drain(live)


async def test_a_chain_that_fails_before_any_content_raises_and_is_recorded(catalogue, fault):
    """Required test 14 (the HTTP status a view answers comes from GenerationFailed)."""
    fault.program("*", status(503))
    with pytest.raises(GenerationFailed) as failed:
        await open_stream(job("a:gpt-a", "b:gpt-b"))
    assert (failed.value.status, failed.value.code) == (502, "upstream_failed")
    generation, attempts = await rows(failed.value.request_id)
    assert generation.status == "failed" and generation.is_streamed
    assert [a.outcome for a in attempts] == ["http_error", "http_error"]


async def test_a_break_after_content_ends_with_one_error_event_and_counts(catalogue, fault):
    """Required test 15: two chunks, then the upstream connection drops."""
    fault.program("gpt-a", stream(chunks=("one ", "two ", "three"), cut_after=2))
    live = await open_stream(job("a:gpt-a", "b:gpt-b"))
    text, events = await drain(live)
    assert text == "one two "
    assert isinstance(events[-1], Broken) and sum(isinstance(e, Finished | Broken) for e in events) == 1
    assert fault.requests_for("gpt-b") == []  # no switch after commit
    generation, attempts = await rows(live.request_id)
    assert generation.status == "failed_mid_stream"
    assert generation.usage_estimated is True and generation.tokens_out == 2  # 8 characters / 4
    assert attempts[-1].outcome == "bad_response" and attempts[-1].error_text
    assert circuit.admit([Target("model", "a:gpt-a")], request_id="x", probe_ttl=1).failing


async def test_three_streams_that_break_after_content_open_the_circuit(catalogue, fault):
    """Review finding: the success at commit used to wipe the count, so a model that
    always broke mid-stream never tripped (R1, R2)."""
    fault.program("gpt-a", stream(chunks=("one ", "two"), cut_after=1))
    for _ in range(3):
        await drain(await open_stream(job("a:gpt-a", "b:gpt-b")))
    assert circuit.admit([Target("model", "a:gpt-a")], request_id="x", probe_ttl=1).state is State.OPEN
    assert (await open_stream(job("a:gpt-a", "b:gpt-b"))).served == "b:gpt-b"


@override_settings(QF_CB_FAILURES=1)
async def test_a_stream_cut_by_the_requests_own_deadline_does_not_count(catalogue, fault):
    fault.program("gpt-a", stream(chunks=tuple("abcdefghij"), delay=0.3))
    live = await open_stream(job("a:gpt-a", deadline_s=1.2))
    _, events = await drain(live)
    assert isinstance(events[-1], Broken) and events[-1].error.category == "timeout"
    assert circuit.admit([Target("model", "a:gpt-a")], request_id="x", probe_ttl=1).state is State.CLOSED


async def test_a_stream_closed_before_it_is_read_still_closes_upstream_and_records(catalogue, fault):
    """Review finding: a view cancelled between commit and the first read lost the row."""
    fault.program("gpt-a", stream(chunks=tuple(f"w{i} " for i in range(50)), delay=0.05))
    live = await open_stream(job("a:gpt-a"))
    await live.aclose()
    assert await sync_to_async(fault.wait_disconnect)("gpt-a", 1.0)
    generation, attempts = await rows(live.request_id)
    assert generation.status == "client_disconnected" and attempts[-1].outcome == "cancelled"


@override_settings(QF_STREAM_IDLE_S=0.5)
async def test_silence_mid_stream_beyond_the_idle_limit_breaks_the_stream(catalogue, fault):
    """Required test 16."""
    fault.program("gpt-a", stream(chunks=("a", "b", "c"), stall_after=1, stall_s=30))
    started = time.monotonic()
    live = await open_stream(job("a:gpt-a", "b:gpt-b"))
    text, events = await drain(live)
    assert text == "a" and isinstance(events[-1], Broken)
    assert events[-1].error.category == "timeout"
    assert time.monotonic() - started < 0.5 + 1
    generation, attempts = await rows(live.request_id)
    assert generation.status == "failed_mid_stream" and attempts[-1].outcome == "timeout"


async def test_a_client_that_goes_away_closes_the_upstream_and_leaves_its_row(catalogue, fault):
    """Required test 17: the consumer is cancelled, as Django cancels a view whose client
    disconnected."""
    fault.program("gpt-a", stream(chunks=tuple(f"w{i} " for i in range(50)), delay=0.05))
    live = await open_stream(job("a:gpt-a"))
    seen = []

    async def consume():
        async with aclosing(live):
            async for event in live:
                seen.append(event)
                if len(seen) == 3:
                    await asyncio.sleep(10)  # the client stops reading, then goes away

    task = asyncio.create_task(consume())
    while len(seen) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await sync_to_async(fault.wait_disconnect)("gpt-a", 1.0)
    generation, attempts = await rows(live.request_id)
    assert generation.status == "client_disconnected"
    assert generation.tokens_out is not None and generation.usage_estimated
    assert attempts[-1].outcome == "cancelled"


async def test_a_model_that_does_not_stream_is_passed_over(fault, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    await sync_to_async(build)(fault.url, "openai_images")
    with pytest.raises(GenerationFailed) as failed:
        await open_stream(job("a:gpt-a", modality="image"))
    assert failed.value.status == 400 and failed.value.field == "stream"


async def test_stream_usage_is_exact_for_each_text_api(fault, monkeypatch):
    """Required test 19 for streams; each wire API reports usage its own way."""
    monkeypatch.setenv(KEY_VAR, SECRET)
    for kind in ("openai", "anthropic", "gemini", "ollama"):
        await sync_to_async(_rebuild)(fault.url, kind)
        fault.program("gpt-a", ok(text="a b c", tokens_in=1000, tokens_out=2000))
        live = await open_stream(job("a:gpt-a"))
        await drain(live)
        generation, _ = await rows(live.request_id)
        assert (generation.tokens_in, generation.tokens_out, generation.usage_estimated) == (1000, 2000, False), kind
        assert str(generation.cost) == "0.02250000", kind  # 1000 x 2.5 / 1M + 2000 x 10 / 1M


def _rebuild(url: str, kind: str) -> None:
    from routing.models import Provider

    Provider.objects.all().delete()
    build(url, kind)
