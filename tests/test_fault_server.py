"""The fault server against the official SDKs (real HTTP clients): if its wire formats drift
from the real APIs, these fail. Raw bodies are also validated against the SDKs' pydantic
types, with no field the types do not know."""
from __future__ import annotations

import base64
import json
import struct
import zlib

import anthropic
import httpx
import openai
import pydantic
import pytest
from anthropic.types import Message, ModelInfo, RawMessageStreamEvent
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from openai.types import ImagesResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tests.fault import ok, status, stream

HI = [{"role": "user", "content": "hi"}]


# ---- helpers --------------------------------------------------------------------------------


def strict(model_type, data):
    """Validate `data` as `model_type` and insist it carries no field the type lacks (the
    SDK models accept extras, so a misspelt field would otherwise pass)."""
    parsed = pydantic.TypeAdapter(model_type).validate_python(data)
    _no_extras(parsed, model_type)
    return parsed


def _no_extras(value, where) -> None:
    if isinstance(value, pydantic.BaseModel):
        assert not value.model_extra, f"{type(value).__name__} has unknown {value.model_extra}"
        for name in type(value).model_fields:
            _no_extras(getattr(value, name), name)
    elif isinstance(value, list):
        for item in value:
            _no_extras(item, where)


def sse_frames(raw: bytes) -> list[dict[str, str]]:
    """SSE events as {"event"?, "data"} dicts, insisting on blank-line framing."""
    text = raw.decode()
    assert text.endswith("\n\n"), "an SSE body ends with a blank line"
    frames = []
    for block in text[:-2].split("\n\n"):
        frame = {}
        for line in block.split("\n"):
            field, sep, value = line.partition(": ")
            assert sep and field in ("event", "data"), f"bad SSE line {line!r}"
            frame[field] = value
        frames.append(frame)
    return frames


def png_size(blob: bytes) -> tuple[int, int]:
    """Decode a PNG far enough to prove it is one: signature, CRCs, inflatable pixel rows."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        kind, data = blob[pos + 4 : pos + 8], blob[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", blob[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + data) == crc, f"bad CRC in {kind}"
        chunks[kind] = chunks.get(kind, b"") + data
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    rows = zlib.decompress(chunks[b"IDAT"])
    assert (depth, color) == (8, 6) and len(rows) == height * (1 + 4 * width)
    assert b"IEND" in chunks
    return width, height


# Building an SDK client (or an httpx.Client) costs ~20 ms, mostly its TLS context: one per
# module, re-pointed at each test's server with with_options(), which keeps the HTTP client.
@pytest.fixture(scope="module")
def sdk_clients():
    clients = (
        openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test-oai", max_retries=0),
        anthropic.Anthropic(base_url="http://127.0.0.1:9", api_key="sk-ant-test", max_retries=0),
    )
    yield clients
    for client in clients:
        client.close()


@pytest.fixture
def oai(fault, sdk_clients):
    return sdk_clients[0].with_options(base_url=fault.url + "/v1")


@pytest.fixture
def claude(fault, sdk_clients):
    return sdk_clients[1].with_options(base_url=fault.url)


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def gemini(fault):
    options = genai_types.HttpOptions(base_url=fault.url, api_version="v1beta")
    return genai.Client(api_key="AIza-test", http_options=options)


# ---- OpenAI -----------------------------------------------------------------------------


def test_it_answers_openai_chat_with_a_chat_completion(fault, oai):
    fault.program("gpt-a", ok(text="hi there", tokens_in=5, tokens_out=2))
    raw = oai.chat.completions.with_raw_response.create(model="gpt-a", messages=HI)
    completion = raw.parse()

    assert isinstance(completion, ChatCompletion)
    assert completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == "hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 2)
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["content-type"] == "application/json"
    strict(ChatCompletion, json.loads(raw.content))


def test_it_streams_openai_chunks_ending_in_a_usage_chunk(fault, oai):
    fault.program("gpt-a", ok(text="one two three"))
    chunks = list(oai.chat.completions.create(
        model="gpt-a", messages=HI, stream=True, stream_options={"include_usage": True}
    ))

    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 18
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")


def test_its_openai_stream_is_sse_ending_with_done(fault, http):
    body = {"model": "gpt-a", "messages": HI, "stream": True,
            "stream_options": {"include_usage": True}}
    response = http.post(fault.url + "/v1/chat/completions", json=body)

    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["transfer-encoding"] == "chunked"
    frames = sse_frames(response.content)
    assert frames[-1] == {"data": "[DONE]"}
    for frame in frames[:-1]:
        strict(ChatCompletionChunk, json.loads(frame["data"]))


def test_its_openai_stream_has_no_usage_chunk_unless_asked(fault, http):
    body = {"model": "gpt-a", "messages": HI, "stream": True}
    frames = sse_frames(http.post(fault.url + "/v1/chat/completions", json=body).content)

    chunks = [json.loads(f["data"]) for f in frames[:-1]]
    assert all(c["choices"] for c in chunks)
    assert not any("usage" in c for c in chunks)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (429, openai.RateLimitError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (400, openai.BadRequestError),
        (503, openai.InternalServerError),
    ],
)
def test_it_raises_the_openai_error_for_each_status(fault, oai, code, error):
    fault.program("gpt-a", status(code, retry_after=7, param="messages"))

    with pytest.raises(error) as raised:
        oai.chat.completions.create(model="gpt-a", messages=HI)

    assert raised.value.status_code == code
    assert raised.value.param == "messages"
    assert raised.value.body["message"] == f"upstream says {code}"
    assert set(raised.value.body) == {"message", "type", "param", "code"}
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.request_id.startswith("req_")


def test_it_generates_openai_images_as_b64_png(fault, oai):
    images = oai.images.generate(model="dall-e-3", prompt="a dot", response_format="b64_json", n=2)

    assert isinstance(images, ImagesResponse) and len(images.data) == 2
    assert png_size(base64.b64decode(images.data[0].b64_json)) == (1, 1)
    assert fault.requests[-1].model == "dall-e-3"


def test_it_generates_openai_images_as_urls_it_serves(fault, http, oai):
    images = oai.images.generate(model="dall-e-3", prompt="a dot")

    url = images.data[0].url
    assert url.startswith(fault.url)
    assert png_size(http.get(url).content) == (1, 1)
    strict(ImagesResponse, json.loads(oai.images.with_raw_response.generate(
        model="dall-e-3", prompt="a dot").content))


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [("mp3", "audio/mpeg", b"\xff\xfb"), ("wav", "audio/wav", b"RIFF"),
     ("opus", "audio/ogg", b"OggS"), ("flac", "audio/flac", b"fLaC")],
)
def test_it_speaks_openai_audio(fault, oai, fmt, content_type, magic):
    speech = oai.audio.speech.create(model="tts-1", voice="alloy", input="hi", response_format=fmt)

    assert speech.response.headers["content-type"] == content_type
    assert speech.content.startswith(magic)
    assert fault.requests[-1].model == "tts-1"


def test_it_speaks_mp3_by_default_in_whole_frames(oai):
    audio = oai.audio.speech.create(model="tts-1", voice="alloy", input="hi").content

    # MPEG-1 Layer III at 128 kbit/s, 44.1 kHz: every 417-byte frame opens with a sync word.
    assert len(audio) % 417 == 0
    assert all(audio[i : i + 2] == b"\xff\xfb" for i in range(0, len(audio), 417))


def test_it_lists_openai_models(fault, oai):
    assert [m.id for m in oai.models.list()] == ["gpt-4o", "gpt-4o-mini"]
    fault.program("gpt-a", ok())
    assert [m.id for m in oai.models.list()] == ["gpt-a"]


async def test_it_streams_to_the_async_openai_client(fault):
    client = openai.AsyncOpenAI(base_url=fault.url + "/v1", api_key="sk-test", max_retries=0)
    fault.program("gpt-a", stream(chunks=("a", "b", "c")))

    texts = []
    async with client:
        async for chunk in await client.chat.completions.create(
            model="gpt-a", messages=HI, stream=True
        ):
            texts.extend(c.delta.content or "" for c in chunk.choices)

    assert "".join(texts) == "abc"


# ---- Anthropic --------------------------------------------------------------------------

ANTHROPIC_EVENTS = [
    "message_start", "content_block_start", "ping", "content_block_delta",
    "content_block_delta", "content_block_stop", "message_delta", "message_stop",
]


def test_it_answers_anthropic_messages_with_a_message(fault, claude):
    fault.program("claude-a", ok(text="hi", tokens_in=3, tokens_out=4, finish="length"))
    raw = claude.messages.with_raw_response.create(model="claude-a", max_tokens=9, messages=HI)
    message = raw.parse()

    assert isinstance(message, Message) and message.id.startswith("msg_")
    assert message.content[0].text == "hi"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 4)
    assert message.stop_reason == "max_tokens"
    assert raw.headers["request-id"].startswith("req_")
    strict(Message, json.loads(raw.http_response.content))


def test_it_streams_anthropic_events_to_a_final_message(fault, claude):
    fault.program("claude-a", stream(chunks=("Hel", "lo"), tokens_in=5, tokens_out=6))

    with claude.messages.stream(model="claude-a", max_tokens=9, messages=HI) as events:
        texts = list(events.text_stream)
        final = events.get_final_message()

    assert texts == ["Hel", "lo"]
    assert final.content[0].text == "Hello"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (5, 6)
    assert final.stop_reason == "end_turn"


def test_its_anthropic_stream_has_the_documented_event_order(fault, http):
    fault.program("claude-a", stream(chunks=("Hel", "lo")))
    response = http.post(fault.url + "/v1/messages",
                          json={"model": "claude-a", "max_tokens": 9, "messages": HI,
                                "stream": True})

    frames = sse_frames(response.content)
    assert [f["event"] for f in frames] == ANTHROPIC_EVENTS
    for frame in frames:
        data = json.loads(frame["data"])
        assert data["type"] == frame["event"]
        if frame["event"] != "ping":  # the SDK skips pings; they are in no event type
            strict(RawMessageStreamEvent, data)
    assert response.headers["request-id"].startswith("req_")


def test_it_streams_raw_anthropic_events_with_create(fault, claude):
    fault.program("claude-a", stream(chunks=("a", "b")))
    events = list(claude.messages.create(model="claude-a", max_tokens=9, messages=HI, stream=True))

    # The SDK drops pings and hands over every other event, parsed.
    assert [e.type for e in events] == [e for e in ANTHROPIC_EVENTS if e != "ping"]
    assert events[0].message.usage.input_tokens == 11
    assert events[-2].usage.output_tokens == 7


@pytest.mark.parametrize(
    ("code", "error", "kind"),
    [
        (529, anthropic.OverloadedError, "overloaded_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_it_raises_the_anthropic_error_for_each_status(fault, claude, code, error, kind):
    fault.program("claude-a", status(code))

    with pytest.raises(error) as raised:
        claude.messages.create(model="claude-a", max_tokens=9, messages=HI)

    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"] == {"type": kind, "message": f"upstream says {code}"}
    assert raised.value.request_id.startswith("req_")


def test_an_anthropic_overload_is_an_internal_server_error(fault, claude):
    fault.program("claude-a", status(529))

    with pytest.raises(anthropic.InternalServerError):
        claude.messages.create(model="claude-a", max_tokens=9, messages=HI)


def test_a_mid_stream_anthropic_error_event_raises(fault, claude):
    fault.program("claude-a", stream(chunks=("a", "b"), error_event="overloaded_error"))

    texts = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        with claude.messages.stream(model="claude-a", max_tokens=9, messages=HI) as events:
            texts.extend(events.text_stream)

    assert texts == ["a", "b"]
    assert raised.value.body["error"]["type"] == "overloaded_error"


def test_anthropic_without_usage_reports_zeros_where_the_type_requires_counts(fault, claude):
    fault.program("claude-a", ok(usage=False))

    with claude.messages.stream(model="claude-a", max_tokens=9, messages=HI) as events:
        final = events.get_final_message()

    assert (final.usage.input_tokens, final.usage.output_tokens) == (0, 0)


def test_it_lists_anthropic_models_to_anthropic_clients(claude):
    assert [m.id for m in claude.models.list()] == ["claude-sonnet-4-5", "claude-haiku-4-5"]


def test_anthropic_models_come_in_the_pages_the_client_asks_for(fault, claude, http):
    for name in ("claude-a", "claude-b", "claude-c"):
        fault.program(name, ok())

    first = claude.models.list(limit=2)
    everything = [m.id for m in claude.models.list(limit=2)]  # the SDK follows the pages

    assert [m.id for m in first.data] == ["claude-a", "claude-b"]
    assert (first.has_more, first.first_id, first.last_id) == (True, "claude-a", "claude-b")
    assert everything == ["claude-a", "claude-b", "claude-c"]
    assert [r.query for r in fault.requests[1:]] == [
        {"limit": "2"}, {"limit": "2", "after_id": "claude-b"}
    ]
    raw = http.get(fault.url + "/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    for item in raw["data"]:
        strict(ModelInfo, item)


def test_the_server_page_size_bounds_anthropic_pages(fault, claude):
    for name in ("claude-a", "claude-b", "claude-c"):
        fault.program(name, ok())
    fault.page_size = 1

    assert [m.id for m in claude.models.list(limit=50)] == ["claude-a", "claude-b", "claude-c"]
    assert [r.query.get("after_id") for r in fault.requests] == [None, "claude-a", "claude-b"]


# ---- Gemini -----------------------------------------------------------------------------


def test_it_answers_gemini_generate_content(fault, gemini):
    fault.program("gemini-a", ok(text="hi", tokens_in=3, tokens_out=4))
    response = gemini.models.generate_content(model="gemini-a", contents="hi")

    assert response.text == "hi"
    assert response.candidates[0].finish_reason == genai_types.FinishReason.STOP
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (3, 4)
    seen = fault.requests[-1]
    assert seen.path == "/v1beta/models/gemini-a:generateContent"
    assert seen.headers["x-goog-api-key"] == "AIza-test" and seen.model == "gemini-a"


def test_it_streams_gemini_with_usage_on_the_last_event(fault, gemini):
    fault.program("gemini-a", stream(chunks=("Hel", "lo"), tokens_in=5, tokens_out=6))
    chunks = list(gemini.models.generate_content_stream(model="gemini-a", contents="hi"))

    assert "".join(c.text or "" for c in chunks) == "Hello"
    assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
    assert chunks[-1].usage_metadata.total_token_count == 11
    assert fault.requests[-1].query == {"alt": "sse"}


def test_its_gemini_bodies_validate_as_generate_content_responses(fault, http):
    url = fault.url + "/v1beta/models/gemini-a"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}

    whole = http.post(url + ":generateContent", json=body).json()
    frames = sse_frames(http.post(url + ":streamGenerateContent?alt=sse", json=body).content)
    # extra="forbid" in google-genai's types: an unknown field fails validation.
    for data in [whole] + [json.loads(f["data"]) for f in frames]:
        genai_types.GenerateContentResponse.model_validate(data)
    assert whole["usageMetadata"]["promptTokenCount"] == 11


def test_gemini_streams_without_alt_sse_as_one_json_array(fault, http):
    url = fault.url + "/v1beta/models/gemini-a:streamGenerateContent"
    response = http.post(url, json={"contents": []})

    items = response.json()
    assert isinstance(items, list) and "usageMetadata" in items[-1]
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("code", "error", "grpc_status"),
    [(429, genai_errors.ClientError, "RESOURCE_EXHAUSTED"),
     (400, genai_errors.ClientError, "INVALID_ARGUMENT"),
     (503, genai_errors.ServerError, "UNAVAILABLE")],
)
def test_it_raises_the_gemini_error_for_each_status(fault, gemini, code, error, grpc_status):
    fault.program("gemini-a", status(code, retry_after=3))

    with pytest.raises(error) as raised:
        gemini.models.generate_content(model="gemini-a", contents="hi")

    assert (raised.value.code, raised.value.status) == (code, grpc_status)
    assert raised.value.details["error"]["details"][0]["retryDelay"] == "3s"


def test_it_lists_gemini_models(gemini):
    assert [m.name for m in gemini.models.list()] == ["models/gemini-2.5-flash",
                                                      "models/gemini-2.5-pro"]


def test_gemini_models_come_in_the_pages_the_client_asks_for(fault, gemini):
    for name in ("gemini-a", "gemini-b", "gemini-c"):
        fault.program(name, ok())

    pager = gemini.models.list(config={"page_size": 2})

    assert [m.name for m in pager.page] == ["models/gemini-a", "models/gemini-b"]
    assert [m.name for m in pager] == ["models/gemini-a", "models/gemini-b", "models/gemini-c"]
    queries = [r.query for r in fault.requests]
    assert [q.get("pageSize") for q in queries] == ["2", "2"]
    assert queries[0].get("pageToken") is None and queries[1]["pageToken"]


# ---- Ollama (no official SDK among the dependencies: checked by hand) ---------------------

OLLAMA_FINAL = {"model", "created_at", "message", "done", "done_reason", "total_duration",
                "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count",
                "eval_duration"}


def test_ollama_chat_streams_ndjson_ending_with_done(fault, http):
    fault.program("llama-a", ok(text="one two"))
    response = http.post(fault.url + "/api/chat", json={"model": "llama-a", "messages": HI})

    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.text.splitlines()
    objects = [json.loads(line) for line in lines]
    assert len(lines) == 3 and response.text.endswith("\n")
    for piece in objects[:-1]:
        assert set(piece) == {"model", "created_at", "message", "done"}
        assert piece["done"] is False and piece["message"]["role"] == "assistant"
    assert "".join(o["message"]["content"] for o in objects) == "one two"
    final = objects[-1]
    assert set(final) == OLLAMA_FINAL
    assert (final["done"], final["done_reason"]) == (True, "stop")
    assert (final["prompt_eval_count"], final["eval_count"]) == (11, 7)
    assert final["created_at"].endswith("Z") and final["model"] == "llama-a"


def test_ollama_chat_without_stream_is_one_object(fault, http):
    body = {"model": "llama-a", "messages": HI, "stream": False}
    final = http.post(fault.url + "/api/chat", json=body).json()

    assert set(final) == OLLAMA_FINAL
    assert final["message"] == {"role": "assistant", "content": "Hello from llama-a"}


def test_ollama_errors_are_a_plain_error_string(fault, http):
    fault.program("llama-a", status(404, message="model 'llama-a' not found"))
    response = http.post(fault.url + "/api/chat", json={"model": "llama-a", "messages": HI})

    assert response.status_code == 404
    assert response.json() == {"error": "model 'llama-a' not found"}


def test_ollama_lists_tags(fault, http):
    models = http.get(fault.url + "/api/tags").json()["models"]

    assert [m["name"] for m in models] == ["llama3.2:latest", "qwen2.5:7b"]
    assert {"name", "model", "modified_at", "size", "digest", "details"} <= set(models[0])


# ---- Automatic1111 and ElevenLabs ---------------------------------------------------------


def test_a1111_txt2img_returns_png_images_and_info(fault, http):
    body = {"prompt": "a dot", "batch_size": 2,
            "override_settings": {"sd_model_checkpoint": "sdxl-a"}}
    reply = http.post(fault.url + "/sdapi/v1/txt2img", json=body).json()

    assert len(reply["images"]) == 2
    assert png_size(base64.b64decode(reply["images"][0])) == (1, 1)
    assert json.loads(reply["info"])["sd_model_name"] == "sdxl-a"
    assert reply["parameters"]["prompt"] == "a dot"
    assert fault.requests[-1].model == "sdxl-a"


def test_a1111_lists_checkpoints_by_title_name_and_hashes(fault, http):
    fault.program("sdxl-a", ok())
    [checkpoint] = http.get(fault.url + "/sdapi/v1/sd-models").json()

    assert set(checkpoint) == {"title", "model_name", "hash", "sha256", "filename", "config"}
    assert checkpoint["model_name"] == "sdxl-a"
    assert checkpoint["title"] == f"sdxl-a.safetensors [{checkpoint['hash']}]"
    assert checkpoint["sha256"].startswith(checkpoint["hash"]) and len(checkpoint["hash"]) == 10
    assert checkpoint["filename"].endswith("/sdxl-a.safetensors")


def test_a1111_errors_carry_detail(fault, http):
    fault.program("sdxl-a", status(500, message="CUDA out of memory"))
    body = {"prompt": "x", "override_settings": {"sd_model_checkpoint": "sdxl-a"}}

    response = http.post(fault.url + "/sdapi/v1/txt2img", json=body)
    assert response.json()["detail"] == "CUDA out of memory"


@pytest.mark.parametrize(
    ("output_format", "content_type"),
    [(None, "audio/mpeg"), ("mp3_44100_128", "audio/mpeg"), ("pcm_24000", "audio/pcm")],
)
def test_elevenlabs_speaks_in_the_asked_format(fault, http, output_format, content_type):
    params = {"output_format": output_format} if output_format else {}
    response = http.post(fault.url + "/v1/text-to-speech/voice-1", params=params,
                          json={"text": "hi", "model_id": "eleven_a"},
                          headers={"xi-api-key": "xi-test"})

    assert response.headers["content-type"] == content_type
    assert response.headers["request-id"] and response.content
    assert fault.requests[-1].model == "eleven_a"


def test_elevenlabs_lists_models_to_elevenlabs_clients_only(fault, http):
    fault.program("eleven_a", ok())

    models = http.get(fault.url + "/v1/models", headers={"xi-api-key": "xi-test"}).json()
    openai_shape = http.get(fault.url + "/v1/models").json()

    assert [m["model_id"] for m in models] == ["eleven_a"]
    assert models[0]["can_do_text_to_speech"] is True and models[0]["languages"]
    assert openai_shape["object"] == "list"


def test_elevenlabs_errors_carry_detail_status_and_message(fault, http):
    fault.program("eleven_a", status(401, echo_key=True))
    response = http.post(fault.url + "/v1/text-to-speech/voice-1",
                          json={"text": "hi", "model_id": "eleven_a"},
                          headers={"xi-api-key": "xi-secret"})

    detail = response.json()["detail"]
    assert detail["status"] == "invalid_api_key" and "xi-secret" in detail["message"]
