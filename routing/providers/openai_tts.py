"""OpenAI text to speech (and servers that copy it).
https://platform.openai.com/docs/api-reference/audio/createSpeech
"""

from __future__ import annotations

from typing import Any

from routing.providers.adapter import Adapter, Post
from routing.providers.base import Call, Completion
from routing.providers.media import audio_reply
from routing.providers.openai import list_models

DEFAULT_VOICE = "alloy"
DEFAULT_FORMAT = "mp3"
MIME = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "opus": "audio/ogg",  # Opus in an Ogg container
    "aac": "audio/aac",
    "flac": "audio/flac",
    "pcm": "audio/pcm",
}


class OpenAISpeechAdapter(Adapter):
    kind = "openai_tts"
    param_names = {"voice": "voice", "speed": "speed", "format": "response_format"}

    def body(self, call: Call) -> dict[str, Any]:
        body = {"model": call.model, "input": call.prompt, **self.provider_params(call)}
        body.setdefault("voice", DEFAULT_VOICE)
        body.setdefault("response_format", DEFAULT_FORMAT)
        return body

    def generation(self, call: Call) -> Post:
        return Post(f"{self.base_url}/audio/speech", self.body(call))

    async def probe(self, call: Call) -> frozenset[str] | None:
        return await list_models(self, call)

    async def complete(self, call: Call) -> Completion:
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        fmt = post.body["response_format"]
        audio, mime = audio_reply(response, MIME.get(fmt), self.secrets(call))
        return Completion(
            data=audio,
            mime_type=mime,
            characters=len(call.prompt),
            provider_request_id=response.headers.get("x-request-id") or "",
        )
