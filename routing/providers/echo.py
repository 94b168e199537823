"""The offline provider: answers without any network call, for demos and tests. It serves
all three modalities (models `echo`, `echo-image`, `echo-speech`), by the model's modality:
text echoes the prompt, image is a 1x1 PNG, audio is 0.1 s of silence as WAV."""

from __future__ import annotations

import io
import re
import struct
import wave
import zlib
from collections.abc import AsyncIterator
from functools import cache

from routing.providers.adapter import Adapter
from routing.providers.base import (
    Call,
    Category,
    Completion,
    Delta,
    ProviderError,
    StreamEvent,
    StreamInfo,
)


class EchoAdapter(Adapter):
    kind = "echo"
    streams = True

    def __init__(self, client: object = None, base_url: str = "") -> None:
        super().__init__(client, base_url)  # type: ignore[arg-type]  # never used

    async def probe(self, call: Call) -> frozenset[str] | None:
        return None  # nothing to reach, and it serves any model name: always up

    async def complete(self, call: Call) -> Completion:
        if call.modality == "image":
            return Completion(data=tiny_png(), mime_type="image/png", images=1)
        if call.modality == "audio":
            return Completion(data=silent_wav(), mime_type="audio/wav", characters=len(call.prompt))
        text = call.prompt
        return Completion(
            text=text, tokens_in=_words_in(call), tokens_out=len(text.split()), finish_reason="stop"
        )

    async def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        if call.modality != "text":
            raise ProviderError(Category.BAD_REQUEST, f"echo streams text, not {call.modality}")
        text = call.prompt
        for word in re.findall(r"\s*\S+(?:\s+\Z)?|\A\s+\Z", text):  # spaces kept: joins to text
            yield Delta(word)
        yield StreamInfo(_words_in(call), len(text.split()), "stop")


def _words_in(call: Call) -> int:
    """The echo's token count: whitespace-separated words, deterministic."""
    return sum(len(m.content.split()) for m in call.messages)


@cache
def tiny_png() -> bytes:
    """A valid 1x1 opaque white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")  # filter byte, then one white pixel
    body = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@cache
def silent_wav() -> bytes:
    """0.1 s of silence: 8 kHz, mono, 8-bit (unsigned: silence is 0x80)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 800)
    return buffer.getvalue()
