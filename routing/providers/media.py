"""Image and audio replies: the mime type of image bytes by their magic number, base64
images as the image APIs send them, and the bytes of a speech reply. Anything that is not
the media it claims to be raises a bad_response.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx

from routing.providers.base import Secrets
from routing.providers.failures import bad_response

IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def image_mime(data: bytes) -> str | None:
    """The mime type of image bytes by their magic number, or None if not an image."""
    for magic, mime in IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_image(encoded: Any, secret: Secrets = "") -> tuple[bytes, str]:
    """Bytes and mime type of a base64 image from a reply, or a bad_response."""
    if not isinstance(encoded, str):
        raise bad_response("reply image is not a base64 string", secret)
    if encoded.startswith("data:"):  # some servers send a data URL
        encoded = encoded.partition(",")[2]
    try:
        data = base64.b64decode(encoded)
    except (binascii.Error, ValueError):
        raise bad_response("reply image is not valid base64", secret) from None
    mime = image_mime(data)
    if mime is None:
        raise bad_response("reply image is not PNG, JPEG, GIF or WebP", secret)
    return data, mime


def audio_reply(
    response: httpx.Response, expected: str | None, secret: Secrets
) -> tuple[bytes, str]:
    """The bytes and mime type of an audio reply: the type its format implies, else the
    reply's own. A 200 with JSON or HTML (a proxy, a captive portal) or nothing is not audio."""
    content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type.startswith("text/") or "json" in content_type:
        raise bad_response(f"reply is {content_type}, not audio", secret)
    if not response.content:
        raise bad_response("reply has no audio", secret)
    own = content_type if content_type.startswith("audio/") else "application/octet-stream"
    return response.content, expected or own
