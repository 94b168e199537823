"""OpenAI image generation (and servers that copy it).
https://platform.openai.com/docs/api-reference/images/create
"""

from __future__ import annotations

from typing import Any

from routing.providers.adapter import Adapter, Post
from routing.providers.base import Call, Completion
from routing.providers.failures import bad_response
from routing.providers.media import decode_image
from routing.providers.openai import list_models
from routing.providers.wire import dig, opt, parse_json


class OpenAIImagesAdapter(Adapter):
    kind = "openai_images"
    param_names = {"n": "n", "quality": "quality", "style": "style"}

    def body(self, call: Call) -> dict[str, Any]:
        body: dict[str, Any] = {"model": call.model, "prompt": call.prompt}
        width, height = call.params.get("width"), call.params.get("height")
        if width and height:
            body["size"] = f"{width}x{height}"
        # Base64 in the reply: a returned URL is never fetched (an admin-set upstream could
        # point it anywhere: RELIABILITY.md, SSRF).
        body["response_format"] = "b64_json"
        body.update(self.provider_params(call))
        return body

    def generation(self, call: Call) -> Post:
        return Post(f"{self.base_url}/images/generations", self.body(call))

    async def probe(self, call: Call) -> frozenset[str] | None:
        # Without a listing the fallback generation renders (and bills) one image.
        return await list_models(self, call)

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        data = parse_json(response, secret)
        images = dig(data, "data", secret=secret)
        if not isinstance(images, list) or not images:
            raise bad_response("reply has no images", secret)
        encoded = opt(images, 0, "b64_json")
        if encoded is None:
            raise bad_response("reply has no b64_json image (a URL is never fetched)", secret)
        image, mime = decode_image(encoded, secret)
        return Completion(
            data=image,
            mime_type=mime,
            images=len(images),
            provider_request_id=response.headers.get("x-request-id") or "",
        )
