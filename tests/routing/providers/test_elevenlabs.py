"""ElevenLabs text to speech: the exact request, and the audio bytes, over real HTTP."""

from __future__ import annotations

import pytest

from routing.providers.base import Call, Category, Message, ProviderError
from tests.routing.providers.conftest import KEY

PROMPT = "Hello, world."


def speak(**fields) -> Call:
    return Call("eleven_multilingual_v2", (Message("user", PROMPT),), modality="audio", **fields)


@pytest.fixture
def adapter(make, fault):
    return make("elevenlabs", fault.url)


async def test_it_sends_the_voice_in_the_path_and_the_rest_in_the_body(adapter, fault):
    params = {"voice": "JBFqnCBsd6RMkjVDRZzb", "language": "de", "speed": 1.1, "format": "mp3",
              "custom": {"seed": 4}}

    await adapter.complete(speak(params=params, secret=KEY))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb")
    assert request.query == {"output_format": "mp3_44100_128"}
    assert request.headers["xi-api-key"] == KEY
    assert "authorization" not in request.headers
    assert request.json == {
        "text": PROMPT,
        "model_id": "eleven_multilingual_v2",
        "language_code": "de",
        "voice_settings": {"speed": 1.1},
        "seed": 4,
    }


async def test_it_leaves_out_what_is_not_set(adapter, fault):
    await adapter.complete(speak(params={"voice": "v-1"}))

    [request] = fault.requests
    assert request.json == {"text": PROMPT, "model_id": "eleven_multilingual_v2"}
    assert request.query == {"output_format": "mp3_44100_128"}
    assert "xi-api-key" not in request.headers


@pytest.mark.parametrize(
    ("fmt", "output_format", "mime", "magic"),
    [
        ("mp3", "mp3_44100_128", "audio/mpeg", b"\xff\xfb"),
        ("pcm", "pcm_44100", "audio/pcm", b""),
        ("mp3_22050_32", "mp3_22050_32", "audio/mpeg", b"\xff\xfb"),  # passed through
        ("opus_48000_64", "opus_48000_64", "audio/ogg", b"OggS"),
    ],
)
async def test_it_asks_for_the_format_and_types_the_audio(
    adapter, fault, fmt, output_format, mime, magic
):
    completion = await adapter.complete(speak(params={"voice": "v-1", "format": fmt}))

    assert fault.requests[0].query == {"output_format": output_format}
    assert completion.mime_type == mime
    assert completion.data.startswith(magic) and completion.data
    assert completion.characters == len(PROMPT)
    assert completion.provider_request_id  # the request-id header


async def test_a_missing_voice_is_a_bad_request_without_any_call(adapter, fault):
    with pytest.raises(ProviderError) as caught:
        await adapter.complete(speak(secret=KEY))

    assert (caught.value.category, caught.value.param) == (Category.BAD_REQUEST, "voice")
    assert fault.requests == []
