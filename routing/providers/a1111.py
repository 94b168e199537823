"""Stable Diffusion web UI (AUTOMATIC1111) and its forks (Forge, SD.Next), txt2img.
https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API
"""

from __future__ import annotations

import base64
import posixpath
from typing import Any

from routing.providers.adapter import Adapter, Post
from routing.providers.base import Call, Completion
from routing.providers.failures import bad_response
from routing.providers.media import decode_image
from routing.providers.wire import dig, opt, parse_json


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

    def generation(self, call: Call) -> Post:
        return Post(f"{self.base_url}/sdapi/v1/txt2img", self.body(call))

    async def probe(self, call: Call) -> frozenset[str] | None:
        """Every name GET /sdapi/v1/sd-models lets a request give its checkpoints."""
        secret = self.secrets(call)
        response = await self.fetch(call, f"{self.base_url}/sdapi/v1/sd-models")
        checkpoints = parse_json(response, secret)
        if not isinstance(checkpoints, list):
            raise bad_response("listing reply is not a list of checkpoints", secret)
        return frozenset(name for item in checkpoints for name in checkpoint_names(item))

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        images = dig(parse_json(response, secret), "images", secret=secret)
        if not isinstance(images, list) or not images:
            raise bad_response("reply has no images", secret)
        # With a batch of several, the server puts a grid of them first (its return_grid
        # setting): the first image asked for comes after any such extra.
        wanted = call.params.get("n") or 1
        first = max(len(images) - wanted, 0)
        image, mime = decode_image(images[first], secret)
        return Completion(data=image, mime_type=mime, images=len(images) - first)


def checkpoint_names(item: Any) -> set[str]:
    """The names of one listed checkpoint that sd_model_checkpoint accepts. The server
    matches the setting against each checkpoint's aliases (CheckpointInfo.ids in its
    modules/sd_models.py): the title "name [shorthash]", the name (the file's path under
    the models folder), model_name, the file's stem, the hashes and "stem [shorthash]"; a
    name it does not know is silently replaced by the loaded checkpoint."""
    fields = {key: opt(item, key) for key in ("title", "model_name", "hash", "sha256")}
    found = {value for value in fields.values() if isinstance(value, str) and value}
    title, short = fields["title"], fields["hash"]
    if isinstance(title, str) and isinstance(short, str) and title.endswith(f" [{short}]"):
        found.add(title.removesuffix(f" [{short}]"))
    filename = opt(item, "filename")
    if isinstance(filename, str) and filename:
        stem = posixpath.splitext(posixpath.basename(filename.replace("\\", "/")))[0]
        found.add(stem)
        if isinstance(short, str) and short:
            found.add(f"{stem} [{short}]")
    return found


def _basic(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode("ascii")
