"""Ollama's native chat API: the exact request, and the parsed reply, over real HTTP."""

from __future__ import annotations

import pytest

from routing.providers.base import Call, Category, Message
from routing.providers.ollama import OllamaAdapter
from tests.fault import ok, stream
from tests.routing.providers.conftest import KEY, canned, chat, drain, last_info, texts

CONVERSATION = (Message("system", "Be brief."), Message("user", "Say hi"))


@pytest.fixture
def adapter(make, fault):
    return make("ollama", fault.url)


async def test_it_sends_parameters_under_options_and_custom_ones_at_the_top(adapter, fault):
    params = {
        "temperature": 0.4,
        "max_tokens": 256,
        "top_p": 0.9,
        "top_k": 32,
        "stop": "END",
        "seed": 5,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "custom": {"keep_alive": "5m", "options": {"num_ctx": 8192}},
    }

    await adapter.complete(Call("llama-x", CONVERSATION, params=params))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/api/chat")
    assert "authorization" not in request.headers  # a local server: no secret, no header
    assert request.json == {
        "model": "llama-x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hi"},
        ],
        "stream": False,  # Ollama streams unless told not to
        "options": {
            "temperature": 0.4,
            "num_predict": 256,
            "top_p": 0.9,
            "top_k": 32,
            "stop": ["END"],
            "seed": 5,
            "presence_penalty": 0.1,
            "frequency_penalty": 0.2,
            "num_ctx": 8192,
        },
        "keep_alive": "5m",
    }


async def test_it_sends_a_bearer_header_only_with_a_secret_and_no_empty_options(adapter, fault):
    await adapter.complete(chat("llama-x", secret=KEY))

    [request] = fault.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "options" not in request.json


async def test_a_param_map_renames_a_parameter(adapter, fault):
    call = chat("llama-x", params={"max_tokens": 9}, param_map={"max_tokens": "num_ctx"})

    await adapter.complete(call)

    assert fault.requests[0].json["options"] == {"num_ctx": 9}


async def test_it_parses_the_text_tokens_and_done_reason(adapter, fault):
    fault.program("llama-x", ok(text="Hi there.", tokens_in=21, tokens_out=3, finish="length"))

    completion = await adapter.complete(chat("llama-x"))

    assert completion.text == "Hi there."
    assert (completion.tokens_in, completion.tokens_out) == (21, 3)
    assert completion.finish_reason == "length"
    assert completion.provider_request_id == ""  # Ollama has none


async def test_it_streams_ndjson_with_the_counts_of_the_last_object(adapter, fault):
    fault.program("llama-x", stream(chunks=("Hel", "lo"), tokens_in=9, tokens_out=2))

    events, error = await drain(adapter.stream(chat("llama-x")))

    assert error is None
    assert fault.requests[0].json["stream"] is True
    assert texts(events) == ["Hel", "lo"]
    info = last_info(events)
    assert (info.tokens_in, info.tokens_out, info.finish_reason) == (9, 2, "stop")


async def test_a_stream_without_done_is_a_bad_response():
    body = b'{"message": {"role": "assistant", "content": "Hel"}, "done": false}\n'
    async with canned(200, body, **{"content-type": "application/x-ndjson"}) as client:
        events, error = await drain(OllamaAdapter(client, "http://ollama.test").stream(chat()))

    assert texts(events) == ["Hel"]
    assert error.category == Category.BAD_RESPONSE
    assert "ended early" in error.message
