"""OpenAI-compatible chat: the exact request, and the parsed reply, over real HTTP."""

from __future__ import annotations

import json

import pytest

from routing.providers.base import Call, Category, Message, ProviderError
from routing.providers.openai import OpenAIAdapter
from tests.fault import ok, stream
from tests.routing.providers.conftest import KEY, canned, chat, drain, last_info, texts

CONVERSATION = (
    Message("system", "Be brief."),
    Message("user", "Hi"),
    Message("assistant", "Hello."),
    Message("user", "Say hi"),
)
ALL_PARAMS = {
    "temperature": 0.5,
    "max_tokens": 100,
    "top_p": 0.9,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
    "stop": ["END"],
    "seed": 7,
    "reasoning_effort": "low",
    "custom": {"user": "u-1", "logit_bias": {"50256": -100}},
}


@pytest.fixture
def adapter(make, fault):
    return make("openai", fault.url + "/v1")


async def test_it_sends_the_whole_conversation_and_every_parameter(adapter, fault):
    await adapter.complete(Call("gpt-x", CONVERSATION, params=ALL_PARAMS, secret=KEY))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Say hi"},
        ],
        "temperature": 0.5,
        "max_tokens": 100,
        "top_p": 0.9,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "stop": ["END"],
        "seed": 7,
        "reasoning_effort": "low",
        "user": "u-1",
        "logit_bias": {"50256": -100},
    }


@pytest.mark.parametrize(
    ("params", "param_map", "sent"),
    [
        # Newer OpenAI models want max_completion_tokens: the model's param_map says so.
        ({"max_tokens": 5}, {"max_tokens": "max_completion_tokens"}, {"max_completion_tokens": 5}),
        ({"max_tokens": 50}, {"max_tokens": "max_length"}, {"max_length": 50}),
        # A parameter OpenAI lacks is not sent, unless the model's param_map names it (vLLM).
        ({"top_k": 40}, {}, {}),
        ({"top_k": 40}, {"top_k": "top_k"}, {"top_k": 40}),
        ({"stop": "END"}, {}, {"stop": "END"}),  # OpenAI takes a string or a list
    ],
)
async def test_it_maps_parameters_by_the_models_param_map(adapter, fault, params, param_map, sent):
    await adapter.complete(chat("gpt-x", params=params, param_map=param_map))

    [request] = fault.requests
    extra = {k: v for k, v in request.json.items() if k not in ("model", "messages")}
    assert extra == sent


async def test_it_sends_no_authorization_without_a_secret(adapter, fault):
    await adapter.complete(chat("local-llm"))

    assert "authorization" not in fault.requests[0].headers


async def test_it_parses_the_text_tokens_finish_reason_and_request_id(adapter, fault):
    fault.program("gpt-x", ok(text="Hi there.", tokens_in=21, tokens_out=3, finish="length"))

    completion = await adapter.complete(chat("gpt-x", secret=KEY))

    assert completion.text == "Hi there."
    assert (completion.tokens_in, completion.tokens_out) == (21, 3)
    assert completion.finish_reason == "length"
    assert completion.provider_request_id.startswith("req_")  # the x-request-id header
    assert completion.mime_type == "text/plain"


async def test_it_reports_no_tokens_when_the_reply_has_no_usage(adapter, fault):
    fault.program("gpt-x", ok(usage=False))

    completion = await adapter.complete(chat("gpt-x"))

    assert (completion.tokens_in, completion.tokens_out) == (None, None)


async def test_it_asks_for_usage_when_streaming(adapter, fault):
    await drain(adapter.stream(chat("gpt-x", params={"temperature": 0.1}, secret=KEY)))

    [request] = fault.requests
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "Say hi"}],
        "temperature": 0.1,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_a_stream_reports_the_request_id_and_finish_reason(adapter, fault):
    fault.program("gpt-x", stream(chunks=("Hel", "lo"), tokens_in=4, tokens_out=2))

    events, error = await drain(adapter.stream(chat("gpt-x")))

    assert error is None
    assert texts(events) == ["Hel", "lo"]
    info = last_info(events)
    assert (info.tokens_in, info.tokens_out, info.finish_reason) == (4, 2, "stop")
    assert info.provider_request_id.startswith("req_")


def sse(*chunks: dict | str) -> bytes:
    return b"".join(
        f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks
    )


async def test_an_openrouter_error_chunk_mid_stream_is_classified_by_its_code():
    # OpenRouter sends the failure of the model behind it as a chunk after the 200.
    # https://openrouter.ai/docs/api-reference/errors
    body = sse(
        {"id": "gen-1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"id": "gen-1", "error": {"code": 502, "message": "Provider returned error"},
         "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]},
    )
    async with canned(200, body, **{"content-type": "text/event-stream"}) as client:
        events, error = await drain(OpenAIAdapter(client, "http://or.test/v1").stream(chat()))

    assert texts(events) == ["Hel"]
    assert (error.category, error.status) == (Category.SERVER_ERROR, None)
    assert "Provider returned error" in error.message


async def test_a_stream_without_done_is_a_bad_response():
    body = sse({"id": "c-1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]})
    async with canned(200, body, **{"content-type": "text/event-stream"}) as client:
        events, error = await drain(OpenAIAdapter(client, "http://x.test/v1").stream(chat()))

    assert texts(events) == ["Hel"]
    assert error.category == Category.BAD_RESPONSE
    assert "ended early" in error.message


async def test_an_unknown_model_with_400_is_an_unknown_model():
    # Routers (OpenRouter, LiteLLM) answer 400 with code model_not_found, not 404.
    body = json.dumps({"error": {"message": "no such model", "type": "invalid_request_error",
                                 "param": "model", "code": "model_not_found"}}).encode()
    async with canned(400, body) as client:
        with pytest.raises(ProviderError) as caught:
            await OpenAIAdapter(client, "http://x.test/v1").complete(chat())

    assert (caught.value.category, caught.value.status) == (Category.UNKNOWN_MODEL, 400)
