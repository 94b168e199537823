"""OpenAI images: the exact request, and the image bytes, over real HTTP."""

from __future__ import annotations

import pytest

from routing.providers.base import Call, Category, Message, ProviderError
from tests.routing.providers.conftest import KEY

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def draw(prompt: str = "a red square", **fields) -> Call:
    messages = (Message("system", "ignored"), Message("user", "first"), Message("user", prompt))
    return Call("img-x", messages, modality="image", **fields)


@pytest.fixture
def adapter(make, fault):
    return make("openai_images", fault.url + "/v1")


async def test_it_sends_the_prompt_size_and_parameters_asking_for_base64(adapter, fault):
    params = {
        "width": 1024, "height": 768, "n": 2, "quality": "hd", "style": "vivid", "seed": 3,
        "custom": {"user": "u-1"},
    }

    await adapter.complete(draw(params=params, secret=KEY))

    [request] = fault.requests
    assert (request.method, request.path) == ("POST", "/v1/images/generations")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json == {
        "model": "img-x",
        "prompt": "a red square",  # the last user message
        "n": 2,
        "size": "1024x768",
        "quality": "hd",
        "style": "vivid",
        "response_format": "b64_json",
        "user": "u-1",
    }


@pytest.mark.parametrize(
    ("params", "param_map", "sent"),
    [
        ({"width": 512}, {}, {}),  # a size needs both sides
        ({"n": 1}, {"n": "count"}, {"count": 1}),
    ],
)
async def test_it_maps_parameters(adapter, fault, params, param_map, sent):
    await adapter.complete(draw(params=params, param_map=param_map))

    extra = {k: v for k, v in fault.requests[0].json.items()
             if k not in ("model", "prompt", "response_format")}
    assert extra == sent
    assert "authorization" not in fault.requests[0].headers


async def test_it_returns_the_first_image_as_png_bytes_and_counts_them(adapter, fault):
    completion = await adapter.complete(draw(params={"n": 3}))

    assert completion.data.startswith(PNG_MAGIC)
    assert completion.mime_type == "image/png"
    assert completion.images == 3
    assert completion.text is None
    assert completion.provider_request_id.startswith("req_")


async def test_a_reply_with_only_a_url_is_a_bad_response_and_the_url_is_not_fetched(adapter, fault):
    # A server that ignores response_format (here forced by custom) sends a URL instead.
    call = draw(params={"custom": {"response_format": "url"}})

    with pytest.raises(ProviderError) as caught:
        await adapter.complete(call)

    assert caught.value.category == Category.BAD_RESPONSE
    assert [r.method for r in fault.requests] == ["POST"]  # no GET of the returned URL
