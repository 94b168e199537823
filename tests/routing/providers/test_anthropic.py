"""Anthropic Messages: the exact request, and the parsed reply, over real HTTP."""

from __future__ import annotations

import pytest

from routing.providers.anthropic import AnthropicAdapter
from routing.providers.base import Call, Category, Message
from tests.fault import ok, stream
from tests.routing.providers.conftest import KEY, canned, chat, drain, last_info, texts

CONVERSATION = (
    Message("system", "Be brief."),
    Message("system", "Answer in English."),
    Message("user", "Hi"),
    Message("assistant", "Hello."),
    Message("user", "Say hi"),
)


@pytest.fixture
def adapter(make, fault):
    return make("anthropic", fault.url)


async def test_it_sends_the_system_apart_and_maps_every_parameter(adapter, fault):
    params = {
        "max_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 20,
        "stop": "END",  # a string becomes a one-item list
        "seed": 1,  # Anthropic has no seed: not sent
        "custom": {"metadata": {"user_id": "u-1"}},
    }

    await adapter.complete(Call("claude-x", CONVERSATION, params=params, secret=KEY))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.json == {
        "model": "claude-x",
        "system": "Be brief.\n\nAnswer in English.",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Say hi"},
        ],
        "max_tokens": 300,
        "temperature": 0.3,
        "top_p": 0.8,
        "top_k": 20,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
    }


async def test_it_always_sends_max_tokens_which_the_api_requires(adapter, fault):
    await adapter.complete(chat("claude-x"))

    assert fault.requests[0].json == {
        "model": "claude-x",
        "messages": [{"role": "user", "content": "Say hi"}],
        "max_tokens": 1024,
    }


async def test_a_param_map_renames_a_parameter(adapter, fault):
    call = chat("claude-x", params={"stop": ["A", "B"]}, param_map={"stop": "stop"})

    await adapter.complete(call)

    assert fault.requests[0].json["stop"] == ["A", "B"]
    assert "stop_sequences" not in fault.requests[0].json


async def test_it_sends_no_key_header_without_a_secret(adapter, fault):
    await adapter.complete(chat("claude-x"))

    assert "x-api-key" not in fault.requests[0].headers


@pytest.mark.parametrize(("finish", "reported"), [("stop", "stop"), ("length", "length")])
async def test_it_parses_the_text_tokens_finish_reason_and_request_id(
    adapter, fault, finish, reported
):
    fault.program("claude-x", ok(text="Hi there.", tokens_in=21, tokens_out=3, finish=finish))

    completion = await adapter.complete(chat("claude-x", secret=KEY))

    assert completion.text == "Hi there."
    assert (completion.tokens_in, completion.tokens_out) == (21, 3)
    # end_turn / max_tokens, in the OpenAI words qfweb records and serves.
    assert completion.finish_reason == reported
    assert completion.provider_request_id.startswith("req_011C")  # the request-id header


async def test_zero_usage_counts_as_not_reported(adapter, fault):
    # The wire type requires usage, so servers that do not count send zeros.
    fault.program("claude-x", ok(usage=False))

    completion = await adapter.complete(chat("claude-x"))

    assert (completion.tokens_in, completion.tokens_out) == (None, None)


async def test_a_stream_reports_input_tokens_first_and_the_totals_last(adapter, fault):
    fault.program("claude-x", stream(chunks=("Hel", "lo"), tokens_in=9, tokens_out=2))

    events, error = await drain(adapter.stream(chat("claude-x", secret=KEY)))

    assert error is None
    assert fault.requests[0].json["stream"] is True
    assert texts(events) == ["Hel", "lo"]
    # message_start comes before any text and already says the input tokens.
    assert events[0].tokens_in == 9 and events[0].tokens_out is None
    info = last_info(events)
    assert (info.tokens_in, info.tokens_out, info.finish_reason) == (9, 2, "stop")
    assert info.provider_request_id.startswith("req_011C")


async def test_a_stream_without_message_stop_is_a_bad_response():
    body = (
        b'event: message_start\ndata: {"type": "message_start", "message": {"id": "msg_1",'
        b' "usage": {"input_tokens": 3, "output_tokens": 1}}}\n\n'
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0,'
        b' "delta": {"type": "text_delta", "text": "Hel"}}\n\n'
    )
    async with canned(200, body, **{"content-type": "text/event-stream"}) as client:
        adapter = AnthropicAdapter(client, "http://anthropic.test")
        events, error = await drain(adapter.stream(chat()))

    assert texts(events) == ["Hel"]
    assert events[0].provider_request_id == "msg_1"  # no request-id header: the message id
    assert error.category == Category.BAD_RESPONSE
    assert "ended early" in error.message
