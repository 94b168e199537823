"""The offline echo provider: no network, deterministic text, real media bytes."""

from __future__ import annotations

import io
import struct
import wave
import zlib

import pytest

from routing.providers import adapter_class
from routing.providers.base import Call, Category, Delta, Message, ProviderError, StreamInfo
from tests.routing.providers.conftest import drain

CONVERSATION = (
    Message("system", "Be brief."),
    Message("user", "first question"),
    Message("assistant", "an answer"),
    Message("user", "  say   hello to the world "),
)


@pytest.fixture
def echo():
    return adapter_class("echo")(None, "")  # no client: it never makes a call


async def test_it_answers_with_the_last_user_message_and_counts_words(echo):
    completion = await echo.complete(Call("echo", CONVERSATION))

    assert completion.text == "  say   hello to the world "
    assert (completion.tokens_in, completion.tokens_out) == (2 + 2 + 2 + 5, 5)
    assert completion.finish_reason == "stop"
    assert completion.mime_type == "text/plain"


async def test_it_streams_a_delta_per_word_that_joins_to_the_text(echo):
    events, error = await drain(echo.stream(Call("echo", CONVERSATION)))

    assert error is None
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert deltas == ["  say", "   hello", " to", " the", " world "]
    assert "".join(deltas) == "  say   hello to the world "
    assert events[-1] == StreamInfo(tokens_in=11, tokens_out=5, finish_reason="stop")


async def test_an_empty_prompt_streams_no_delta(echo):
    events, _ = await drain(echo.stream(Call("echo", (Message("system", "only a system"),))))

    assert events == [StreamInfo(tokens_in=3, tokens_out=0, finish_reason="stop")]


async def test_an_image_model_returns_a_valid_png(echo):
    completion = await echo.complete(Call("echo-image", CONVERSATION, modality="image"))

    data = completion.data
    assert (completion.mime_type, completion.images) == ("image/png", 1)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1, 1)
    # Every chunk's CRC is right, as a decoder checks.
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind_and_data = data[at + 4 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind_and_data) == crc
        at += 12 + length
    assert data.endswith(b"IEND\xaeB`\x82")


async def test_a_speech_model_returns_a_short_silent_wav(echo):
    call = Call("echo-speech", (Message("user", "Hello, world."),), modality="audio")

    completion = await echo.complete(call)

    assert (completion.mime_type, completion.characters) == ("audio/wav", 13)
    assert completion.data[:4] == b"RIFF" and completion.data[8:12] == b"WAVE"
    with wave.open(io.BytesIO(completion.data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 1, 8000)
        assert audio.getnframes() == 800  # 0.1 s
        assert set(audio.readframes(800)) == {0x80}  # silence in unsigned 8-bit


async def test_only_text_streams(echo):
    events, error = await drain(echo.stream(Call("echo-image", CONVERSATION, modality="image")))

    assert events == []
    assert error.category == Category.BAD_REQUEST
    assert isinstance(error, ProviderError)
