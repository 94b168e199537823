"""Stable Diffusion web UI (AUTOMATIC1111) and its forks (Forge, SD.Next), txt2img.
https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API
"""

from __future__ import annotations

import base64
from typing import Any

from routing.providers.adapter import Adapter
from routing.providers.base import Call, Completion
from routing.providers.failures import bad_response
from routing.providers.media import decode_image
from routing.providers.wire import dig, parse_json


class A1111Adapter(Adapter):
    kind = "a1111"
    param_names = {
        "negative_prompt": "negative_prompt",
        "width": "width",
        "height": "height",
        "steps": "steps",
        "seed": "seed",
        "n": "batch_size",
    }

    def headers(self, call: Call) -> dict[str, str]:
        # The secret is the "user:pass" of the server's --api-auth: HTTP Basic.
        return {"Authorization": f"Basic {_basic(call.secret)}"} if call.secret else {}

    def secrets(self, call: Call) -> tuple[str, ...]:
        if not call.secret:
            return ()
        password = call.secret.partition(":")[2]
        return tuple(s for s in (call.secret, password, _basic(call.secret)) if s)

    def body(self, call: Call) -> dict[str, Any]:
        # The checkpoint is the model; the server switches to it for this request only
        # (override_settings_restore_afterwards defaults to true).
        body = {"prompt": call.prompt, "override_settings": {"sd_model_checkpoint": call.model}}
        body.update(self.provider_params(call))
        return body

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        url = f"{self.base_url}/sdapi/v1/txt2img"
        response = await self.send(call, url, json_body=self.body(call))
        images = dig(parse_json(response, secret), "images", secret=secret)
        if not isinstance(images, list) or not images:
            raise bad_response("reply has no images", secret)
        # With a batch of several, the server puts a grid of them first (its return_grid
        # setting): the first image asked for comes after any such extra.
        wanted = call.params.get("n") or 1
        first = max(len(images) - wanted, 0)
        image, mime = decode_image(images[first], secret)
        return Completion(data=image, mime_type=mime, images=len(images) - first)


def _basic(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode("ascii")
