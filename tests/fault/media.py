"""Image and speech wire formats: OpenAI images and speech, Automatic1111 txt2img and its
checkpoint list, ElevenLabs text-to-speech and its model list. None of them stream, so a
`stream` step answers like `ok`."""
from __future__ import annotations

import base64
import hashlib
import json
import time

from tests.fault import assets
from tests.fault.endpoint import Answer, Endpoint, Failure, Reply, body_dict, json_reply, random_id
from tests.fault.httpio import Request
from tests.fault.openai import OpenAIEndpoint

PNG_B64 = base64.b64encode(assets.PNG).decode()
ASSET_PATH = "/fault-assets/image.png"


def count(value, default: int = 1, most: int = 10) -> int:
    return min(value, most) if isinstance(value, int) and value > 0 else default


class Images(OpenAIEndpoint):
    def answer(self, req: Request, answer: Answer) -> Reply:
        body = body_dict(req)
        if body.get("response_format") == "b64_json":
            item = {"b64_json": PNG_B64}
        else:
            # A URL this server serves, so a client that downloads it gets the same PNG.
            item = {"url": f"http://{req.headers.get('host', '127.0.0.1')}{ASSET_PATH}"}
        if answer.pieces:
            item["revised_prompt"] = answer.text
        reply = {"created": int(time.time()), "data": [item] * count(body.get("n"))}
        if answer.usage:
            reply["usage"] = {
                "input_tokens": answer.tokens_in,
                "output_tokens": answer.tokens_out,
                "total_tokens": answer.tokens_in + answer.tokens_out,
                "input_tokens_details": {"text_tokens": answer.tokens_in, "image_tokens": 0},
            }
        return json_reply(reply)


class Speech(OpenAIEndpoint):
    def answer(self, req: Request, answer: Answer) -> Reply:
        fmt = body_dict(req).get("response_format") or "mp3"
        content_type, audio = assets.SPEECH.get(fmt, assets.SPEECH["mp3"])
        return Reply(200, audio, content_type)


class Asset(Endpoint):
    """GET of the image URL that Images hands out."""

    def answer(self, req: Request, answer: Answer) -> Reply:
        return Reply(200, assets.PNG, "image/png")

    def error(self, req: Request, failure: Failure) -> Reply:
        return Reply(failure.code, failure.message.encode(), "text/plain")


class Txt2Img(Endpoint):
    """Automatic1111's /sdapi/v1/txt2img: the checkpoint is the model name."""

    def model(self, req: Request) -> str | None:
        settings = body_dict(req).get("override_settings") or {}
        checkpoint = settings.get("sd_model_checkpoint") if isinstance(settings, dict) else None
        return checkpoint if isinstance(checkpoint, str) else None

    def answer(self, req: Request, answer: Answer) -> Reply:
        body = body_dict(req)
        images = count(body.get("batch_size")) * count(body.get("n_iter"))
        seed = body.get("seed", -1) if body.get("seed", -1) != -1 else 1234567890
        info = {
            "prompt": body.get("prompt", ""),
            "negative_prompt": body.get("negative_prompt", ""),
            "seed": seed,
            "all_seeds": [seed + i for i in range(images)],
            "width": body.get("width", 512),
            "height": body.get("height", 512),
            "steps": body.get("steps", 20),
            "sd_model_name": answer.model,
            "infotexts": [answer.text] * images,
        }
        parameters = {"prompt": "", "steps": 20, "width": 512, "height": 512, **body}
        return json_reply(
            {"images": [PNG_B64] * images, "parameters": parameters, "info": json.dumps(info)}
        )

    def error(self, req: Request, failure: Failure) -> Reply:
        return json_reply({"error": "HTTPException", "detail": failure.message}, failure.code)


SD_CATALOGUE = ("sd_xl_base_1.0", "v1-5-pruned-emaonly")
SD_FOLDER = "/webui/models/Stable-diffusion/"


class SdModels(Txt2Img):
    """Automatic1111's /sdapi/v1/sd-models. A programmed model name is the checkpoint's
    file (".safetensors" added when it has no such ending) under the models folder, so the
    listing holds it as model_name and in the title "<file> [<shorthash>]"."""

    def answer(self, req: Request, answer: Answer) -> Reply:
        checkpoints = []
        for name in answer.known_models or SD_CATALOGUE:
            file = name if name.endswith((".safetensors", ".ckpt")) else f"{name}.safetensors"
            sha256 = hashlib.sha256(file.encode()).hexdigest()
            checkpoints.append({
                "title": f"{file} [{sha256[:10]}]",
                "model_name": file.rpartition(".")[0].replace("/", "_"),
                "hash": sha256[:10],
                "sha256": sha256,
                "filename": SD_FOLDER + file,
                "config": None,
            })
        return json_reply(checkpoints)


# ElevenLabs `detail.status` for each HTTP status.
ELEVEN_STATUSES = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "missing_permissions",
    404: "voice_not_found",
    422: "validation_error",
    429: "too_many_concurrent_requests",
}
ELEVEN_TYPES = {
    "mp3": "audio/mpeg",
    "pcm": "audio/pcm",
    "wav": "audio/wav",
    "opus": "audio/ogg",
    "ulaw": "audio/basic",
    "alaw": "audio/basic",
}
ELEVEN_BYTES = {"mp3": assets.MP3, "wav": assets.WAV, "opus": assets.OGG}


class TextToSpeech(Endpoint):
    """ElevenLabs /v1/text-to-speech/{voice_id}: `model_id` in the body is the model name."""

    def model(self, req: Request) -> str | None:
        model = body_dict(req).get("model_id")
        return model if isinstance(model, str) else None

    def headers(self) -> dict[str, str]:
        return {"request-id": random_id(20)}

    def answer(self, req: Request, answer: Answer) -> Reply:
        codec = req.query.get("output_format", "mp3_44100_128").split("_")[0]
        audio = ELEVEN_BYTES.get(codec, assets.PCM)
        headers = {"character-cost": str(len(body_dict(req).get("text", "")))}
        return Reply(200, audio, ELEVEN_TYPES.get(codec, "audio/mpeg"), headers)

    def error(self, req: Request, failure: Failure) -> Reply:
        status = ELEVEN_STATUSES.get(failure.code, "internal_error")
        return json_reply({"detail": {"status": status, "message": failure.message}},
                          failure.code)


VOICE_CATALOGUE = ("eleven_multilingual_v2", "eleven_flash_v2_5")


class VoiceModels(TextToSpeech):
    """ElevenLabs GET /v1/models: a bare list of models, named by `model_id`."""

    def answer(self, req: Request, answer: Answer) -> Reply:
        models = [
            {"model_id": name, "name": name, "can_be_finetuned": False,
             "can_do_text_to_speech": True, "can_do_voice_conversion": False,
             "can_use_style": True, "can_use_speaker_boost": True, "serves_pro_voices": False,
             "token_cost_factor": 1.0, "description": "fault server model",
             "requires_alpha_access": False, "max_characters_request_free_user": 2500,
             "max_characters_request_subscribed_user": 10000,
             "maximum_text_length_per_request": 10000,
             "languages": [{"language_id": "en", "name": "English"}],
             "model_rates": {"character_cost_multiplier": 1.0},
             "concurrency_group": "standard"}
            for name in answer.known_models or VOICE_CATALOGUE
        ]
        return json_reply(models)
