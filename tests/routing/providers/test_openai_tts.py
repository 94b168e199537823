"""OpenAI speech: the exact request, and the audio bytes and their type, over real HTTP."""

from __future__ import annotations

import pytest

from routing.providers.base import Call, Message
from tests.routing.providers.conftest import KEY

PROMPT = "Hello, world."


def speak(**fields) -> Call:
    return Call("tts-x", (Message("user", PROMPT),), modality="audio", **fields)


@pytest.fixture
def adapter(make, fault):
    return make("openai_tts", fault.url + "/v1")


async def test_it_sends_the_text_voice_speed_and_format(adapter, fault):
    params = {"voice": "nova", "speed": 1.25, "format": "wav", "language": "en",
              "custom": {"instructions": "Cheerful."}}

    await adapter.complete(speak(params=params, secret=KEY))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/v1/audio/speech")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json == {
        "model": "tts-x",
        "input": PROMPT,
        "voice": "nova",
        "speed": 1.25,
        "response_format": "wav",
        "instructions": "Cheerful.",
    }  # no language: OpenAI speech has none


async def test_it_defaults_to_alloy_and_mp3(adapter, fault):
    await adapter.complete(speak())

    assert fault.requests[0].json == {
        "model": "tts-x", "input": PROMPT, "voice": "alloy", "response_format": "mp3",
    }
    assert "authorization" not in fault.requests[0].headers


def is_mp3(data: bytes) -> bool:
    return data.startswith(b"ID3") or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


@pytest.mark.parametrize(
    ("fmt", "mime", "looks_right"),
    [
        ("mp3", "audio/mpeg", is_mp3),
        ("wav", "audio/wav", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WAVE"),
        ("opus", "audio/ogg", lambda d: d.startswith(b"OggS")),
        ("aac", "audio/aac", lambda d: d[0] == 0xFF and d[1] & 0xF0 == 0xF0),
        ("flac", "audio/flac", lambda d: d.startswith(b"fLaC")),
        ("pcm", "audio/pcm", lambda d: len(d) > 0),
    ],
)
async def test_it_returns_the_audio_with_the_mime_type_of_its_format(
    adapter, fault, fmt, mime, looks_right
):
    completion = await adapter.complete(speak(params={"format": fmt}))

    assert completion.mime_type == mime
    assert looks_right(completion.data)
    assert completion.characters == len(PROMPT)
    assert completion.provider_request_id.startswith("req_")
    assert completion.text is None
