"""Tiny media blobs, built here so no binary files live in the repository."""
from __future__ import annotations

import io
import struct
import wave
import zlib


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int = 1, height: int = 1) -> bytes:
    """A real, decodable RGBA PNG (opaque red)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def _mp3(frames: int = 3) -> bytes:
    """Silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono): a header, then zeros,
    which decode as silence; 417 bytes a frame."""
    return (b"\xff\xfb\x90\xc4" + bytes(413)) * frames


def _wav(rate: int = 24_000, ms: int = 10) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(2 * rate * ms // 1000))
    return out.getvalue()


PNG = _png()
MP3 = _mp3()
WAV = _wav()
PCM = bytes(480)  # 10 ms of 16-bit mono silence at 24 kHz, headerless like OpenAI's pcm
# Only the signatures a sniffer looks at; no decoder needs these in the tests.
OGG = b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x01" + bytes(10)
AAC = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(9)  # one ADTS header and a short payload
FLAC = b"fLaC\x80\x00\x00\x22" + bytes(34)  # marker, last STREAMINFO block, empty

# Media type and bytes for each OpenAI speech `response_format`.
SPEECH = {
    "mp3": ("audio/mpeg", MP3),
    "wav": ("audio/wav", WAV),
    "opus": ("audio/ogg", OGG),
    "aac": ("audio/aac", AAC),
    "flac": ("audio/flac", FLAC),
    "pcm": ("audio/pcm", PCM),
}
