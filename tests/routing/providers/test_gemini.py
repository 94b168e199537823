"""Gemini: the exact request, and the parsed reply, over real HTTP."""

from __future__ import annotations

import json

import pytest

from routing.providers.base import Call, Category, Message, ProviderError
from routing.providers.gemini import GeminiAdapter
from tests.fault import ok, status, stream
from tests.routing.providers.conftest import KEY, canned, chat, drain, last_info, texts

SAFETY = [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]
CONVERSATION = (
    Message("system", "Be brief."),
    Message("user", "Hi"),
    Message("assistant", "Hello."),
    Message("user", "Say hi"),
)


@pytest.fixture
def adapter(make, fault):
    return make("gemini", fault.url + "/v1beta")


async def test_it_sends_contents_system_instruction_and_generation_config(adapter, fault):
    params = {
        "temperature": 0.4,
        "max_tokens": 256,
        "top_p": 0.9,
        "top_k": 32,
        "stop": "END",
        "seed": 5,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "custom": {
            "safetySettings": SAFETY,
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}},
        },
    }

    await adapter.complete(Call("gemini-x", CONVERSATION, params=params, secret=KEY))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/v1beta/models/gemini-x:generateContent")
    assert request.json == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello."}]},
            {"role": "user", "parts": [{"text": "Say hi"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {
            "temperature": 0.4,
            "maxOutputTokens": 256,
            "topP": 0.9,
            "topK": 32,
            "stopSequences": ["END"],
            "seed": 5,
            "presencePenalty": 0.1,
            "frequencyPenalty": 0.2,
            "thinkingConfig": {"thinkingBudget": 0},
        },
        "safetySettings": SAFETY,
    }


@pytest.mark.parametrize("streaming", [False, True])
async def test_it_sends_the_key_only_in_the_header(adapter, fault, streaming):
    call = chat("gemini-x", secret=KEY)
    if streaming:
        await drain(adapter.stream(call))
    else:
        await adapter.complete(call)

    [request] = fault.requests
    assert request.headers["x-goog-api-key"] == KEY
    assert "authorization" not in request.headers
    assert request.query == ({"alt": "sse"} if streaming else {})  # never ?key=
    assert KEY not in request.path


async def test_it_sends_no_key_header_without_a_secret_and_no_empty_config(adapter, fault):
    await adapter.complete(chat("gemini-x"))

    [request] = fault.requests
    assert "x-goog-api-key" not in request.headers
    assert request.json == {"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]}


async def test_a_param_map_renames_a_parameter(adapter, fault):
    call = chat("gemini-x", params={"max_tokens": 9}, param_map={"max_tokens": "maxTokens"})

    await adapter.complete(call)

    assert fault.requests[0].json["generationConfig"] == {"maxTokens": 9}


async def test_a_models_prefix_in_the_name_is_not_doubled(adapter, fault):
    await adapter.complete(chat("models/gemini-x"))

    assert fault.requests[0].path == "/v1beta/models/gemini-x:generateContent"


@pytest.mark.parametrize(("finish", "reported"), [("stop", "stop"), ("length", "length")])
async def test_it_parses_the_text_tokens_finish_reason_and_response_id(
    adapter, fault, finish, reported
):
    fault.program("gemini-x", ok(text="Hi there.", tokens_in=21, tokens_out=3, finish=finish))

    completion = await adapter.complete(chat("gemini-x", secret=KEY))

    assert completion.text == "Hi there."
    assert (completion.tokens_in, completion.tokens_out) == (21, 3)
    assert completion.finish_reason == reported  # STOP / MAX_TOKENS, in OpenAI's words
    assert len(completion.provider_request_id) == 22  # responseId


async def test_a_stream_takes_the_last_usage_seen(adapter, fault):
    fault.program("gemini-x", stream(chunks=("Hel", "lo"), tokens_in=9, tokens_out=2))

    events, error = await drain(adapter.stream(chat("gemini-x")))

    assert error is None
    assert fault.requests[0].path == "/v1beta/models/gemini-x:streamGenerateContent"
    assert texts(events) == ["Hel", "lo"]
    info = last_info(events)
    assert (info.tokens_in, info.tokens_out, info.finish_reason) == (9, 2, "stop")
    assert info.provider_request_id


async def test_a_wrong_key_answered_with_400_is_an_auth_failure(adapter, fault):
    # Gemini says 400 INVALID_ARGUMENT (reason API_KEY_INVALID) for a bad key, not 401.
    fault.program("gemini-x", status(400, message="API key not valid. Please pass a valid key."))

    with pytest.raises(ProviderError) as caught:
        await adapter.complete(chat("gemini-x", secret=KEY))

    assert (caught.value.category, caught.value.status) == (Category.AUTH, 400)


# ---- replies the fault server does not produce: canned payloads ---------------------------


async def call_canned(status_code: int, body: dict, *, streaming: bool = False):
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if streaming:
        raw, headers = b"data: " + raw + b"\n\n", {"content-type": "text/event-stream"}
    async with canned(status_code, raw, **headers) as client:
        adapter = GeminiAdapter(client, "http://gemini.test/v1beta")
        if streaming:
            return await drain(adapter.stream(chat("gemini-x", secret=KEY)))
        return await adapter.complete(chat("gemini-x", secret=KEY))


BLOCKED = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_blocked_prompt_is_a_bad_request_naming_the_reason(streaming):
    if streaming:
        events, error = await call_canned(200, BLOCKED, streaming=True)
        assert events == []
    else:
        with pytest.raises(ProviderError) as caught:
            await call_canned(200, BLOCKED)
        error = caught.value

    assert error.category == Category.BAD_REQUEST
    assert "SAFETY" in error.message


async def test_thoughts_are_not_text_but_their_tokens_are_output():
    reply = {
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "Let me think...", "thought": True},
                {"text": "Hi."},
            ]},
            "finishReason": "STOP",
        }],
        "usageMetadata": {
            "promptTokenCount": 5, "candidatesTokenCount": 2, "thoughtsTokenCount": 30,
        },
        "responseId": "r-1",
    }

    completion = await call_canned(200, reply)

    assert completion.text == "Hi."
    assert (completion.tokens_in, completion.tokens_out) == (5, 32)


async def test_a_stream_that_never_says_why_it_ended_is_a_bad_response():
    chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}

    events, error = await call_canned(200, chunk, streaming=True)

    assert texts(events) == ["Hel"]
    assert error.category == Category.BAD_RESPONSE
    assert "ended early" in error.message


async def test_a_429_without_retry_after_takes_the_wait_from_retry_info():
    body = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"},
    ]}}

    with pytest.raises(ProviderError) as caught:
        await call_canned(429, body)

    assert (caught.value.category, caught.value.retry_after) == (Category.RATE_LIMITED, 12.0)
