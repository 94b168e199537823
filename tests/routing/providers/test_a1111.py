"""Stable Diffusion web UI (AUTOMATIC1111) txt2img: the exact request, and the image bytes."""

from __future__ import annotations

import base64
import json

import pytest

from routing.providers.a1111 import A1111Adapter
from routing.providers.base import Call, Category, Message, ProviderError
from routing.providers.echo import tiny_png
from tests.routing.providers.conftest import canned

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def draw(**fields) -> Call:
    return Call("sdxl.safetensors", (Message("user", "a red square"),), modality="image", **fields)


@pytest.fixture
def adapter(make, fault):
    return make("a1111", fault.url)


async def test_it_sends_the_prompt_parameters_and_checkpoint(adapter, fault):
    params = {
        "negative_prompt": "blurry", "width": 640, "height": 480, "steps": 25, "seed": 42, "n": 2,
        "quality": "hd",  # not a WebUI parameter: not sent
        "custom": {"sampler_name": "Euler a", "cfg_scale": 6},
    }

    await adapter.complete(draw(params=params))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/sdapi/v1/txt2img")
    assert "authorization" not in request.headers
    assert request.json == {
        "prompt": "a red square",
        "negative_prompt": "blurry",
        "width": 640,
        "height": 480,
        "steps": 25,
        "seed": 42,
        "batch_size": 2,
        "override_settings": {"sd_model_checkpoint": "sdxl.safetensors"},
        "sampler_name": "Euler a",
        "cfg_scale": 6,
    }


async def test_a_user_and_password_go_as_basic_auth(adapter, fault):
    await adapter.complete(draw(secret="webui:s3cret"))

    expected = base64.b64encode(b"webui:s3cret").decode()
    assert fault.requests[0].headers["authorization"] == f"Basic {expected}"


async def test_it_returns_the_first_image_as_png_bytes_and_counts_them(adapter, fault):
    completion = await adapter.complete(draw(params={"n": 2}))

    assert completion.data.startswith(PNG_MAGIC)
    assert completion.mime_type == "image/png"
    assert completion.images == 2


async def test_the_grid_the_server_puts_first_is_skipped():
    # With a batch of several, the WebUI's return_grid setting puts a grid first.
    grid = base64.b64encode(b"\xff\xd8\xff\xe0 a JPEG grid").decode()
    image = base64.b64encode(tiny_png()).decode()
    body = json.dumps({"images": [grid, image, image], "parameters": {}, "info": "{}"}).encode()
    async with canned(200, body, **{"content-type": "application/json"}) as client:
        adapter = A1111Adapter(client, "http://webui.test")
        completion = await adapter.complete(draw(params={"n": 2}))

    assert completion.data == tiny_png()
    assert completion.images == 2


async def test_every_form_of_the_credential_is_scrubbed_from_an_error():
    basic = base64.b64encode(b"webui:s3cret-pass").decode()
    body = json.dumps({"detail": f"denied webui:s3cret-pass, s3cret-pass, Basic {basic}"})
    async with canned(401, body.encode(), **{"content-type": "application/json"}) as client:
        adapter = A1111Adapter(client, "http://webui.test")
        with pytest.raises(ProviderError) as caught:
            await adapter.complete(draw(secret="webui:s3cret-pass"))

    assert caught.value.category == Category.AUTH
    assert "s3cret-pass" not in caught.value.message
    assert basic not in caught.value.message
