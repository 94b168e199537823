"""Which endpoint answers which request: the real APIs' own paths."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tests.fault import anthropic, gemini, media, ollama, openai
from tests.fault.endpoint import Endpoint
from tests.fault.httpio import Request


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    endpoint: Endpoint
    when: Callable[[Request], bool] = lambda req: True


def _anthropic(req: Request) -> bool:
    # Anthropic clients always send anthropic-version; OpenAI clients never do.
    return "anthropic-version" in req.headers


def _elevenlabs(req: Request) -> bool:
    # ElevenLabs clients send their key as xi-api-key; no other API does.
    return "xi-api-key" in req.headers


ROUTES = (
    Route("POST", re.compile(r"/v1/chat/completions"), openai.Chat()),
    Route("GET", re.compile(r"/v1/models"), anthropic.Models(), _anthropic),
    Route("GET", re.compile(r"/v1/models"), media.VoiceModels(), _elevenlabs),
    Route("GET", re.compile(r"/v1/models"), openai.Models()),
    Route("POST", re.compile(r"/v1/images/generations"), media.Images()),
    Route("POST", re.compile(r"/v1/audio/speech"), media.Speech()),
    Route("POST", re.compile(r"/v1/messages"), anthropic.Messages()),
    Route("POST", re.compile(r"/v1beta/models/(?P<model>[^/:]+):generateContent"),
          gemini.GenerateContent()),
    Route("POST", re.compile(r"/v1beta/models/(?P<model>[^/:]+):streamGenerateContent"),
          gemini.StreamGenerateContent()),
    Route("GET", re.compile(r"/v1beta/models"), gemini.Models()),
    Route("POST", re.compile(r"/api/chat"), ollama.Chat()),
    Route("GET", re.compile(r"/api/tags"), ollama.Tags()),
    Route("POST", re.compile(r"/sdapi/v1/txt2img"), media.Txt2Img()),
    Route("GET", re.compile(r"/sdapi/v1/sd-models"), media.SdModels()),
    Route("POST", re.compile(r"/v1/text-to-speech/(?P<voice_id>[^/]+)(?:/stream)?"),
          media.TextToSpeech()),
    Route("GET", re.compile(re.escape(media.ASSET_PATH)), media.Asset()),
)


def route(req: Request) -> Endpoint | None:
    """The endpoint for `req` (its path captures land in req.params), or None."""
    for candidate in ROUTES:
        match = candidate.pattern.fullmatch(req.path)
        if candidate.method == req.method and match and candidate.when(req):
            req.params = match.groupdict()
            return candidate.endpoint
    return None
