"""ElevenLabs text to speech.
https://elevenlabs.io/docs/api-reference/text-to-speech/convert
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from routing.providers.adapter import Adapter
from routing.providers.base import Call, Category, Completion, ProviderError
from routing.providers.listing import names
from routing.providers.media import audio_reply
from routing.providers.wire import parse_json

# Our short format names -> ElevenLabs' output_format; any other value (a full ElevenLabs
# format such as "mp3_22050_32") is passed through.
FORMATS = {"mp3": "mp3_44100_128", "pcm": "pcm_44100"}
DEFAULT_FORMAT = "mp3_44100_128"
MIME = {  # by the codec prefix of output_format
    "mp3": "audio/mpeg",
    "pcm": "audio/pcm",
    "wav": "audio/wav",
    "opus": "audio/ogg",
    "ulaw": "audio/basic",
}


class ElevenLabsAdapter(Adapter):
    kind = "elevenlabs"
    # voice goes in the path, format in the query and speed in voice_settings.
    param_names = {"language": "language_code"}

    def headers(self, call: Call) -> dict[str, str]:
        return {"xi-api-key": call.secret} if call.secret else {}

    def body(self, call: Call) -> dict[str, Any]:
        body: dict[str, Any] = {"text": call.prompt, "model_id": call.model}
        if (speed := call.params.get("speed")) is not None:
            body["voice_settings"] = {"speed": speed}
        body.update(self.provider_params(call))
        return body

    async def probe(self, call: Call) -> frozenset[str] | None:
        """The model_id of each model of GET /v1/models (a bare list).
        https://elevenlabs.io/docs/api-reference/models/list"""
        secret = self.secrets(call)
        response = await self.fetch(call, f"{self.base_url}/v1/models")
        return frozenset(names(parse_json(response, secret), "model_id", secret))

    async def complete(self, call: Call) -> Completion:
        voice = call.params.get("voice")
        if not voice:  # ElevenLabs has no default voice
            raise ProviderError(
                Category.BAD_REQUEST, "ElevenLabs needs a voice (a voice id)", param="voice"
            )
        fmt = call.params.get("format")
        output_format = FORMATS.get(fmt, fmt) if fmt else DEFAULT_FORMAT
        url = f"{self.base_url}/v1/text-to-speech/{quote(str(voice), safe='')}"
        response = await self.send(
            call, url, json_body=self.body(call), params={"output_format": output_format}
        )
        mime = MIME.get(str(output_format).partition("_")[0])
        audio, mime = audio_reply(response, mime, self.secrets(call))
        return Completion(
            data=audio,
            mime_type=mime,
            characters=len(call.prompt),
            provider_request_id=response.headers.get("request-id") or "",
        )
