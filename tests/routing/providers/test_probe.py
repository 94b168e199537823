"""Probes, a health check's cheapest call, of every kind over real HTTP: the listing's names,
the failures classified as for generations, pages followed, and the minimal generation of an
OpenAI-compatible server without a listing."""

from __future__ import annotations

import json

import httpx
import pytest

from routing.providers import adapter_class
from routing.providers.a1111 import A1111Adapter
from routing.providers.adapter import PROBE_MAX_TOKENS
from routing.providers.base import Category, ProviderError
from routing.providers.echo import EchoAdapter
from routing.providers.gemini import GeminiAdapter
from routing.providers.listing import MAX_PAGES
from tests.fault import closed_port_url, html, malformed, ok, redirect, stall, status
from tests.routing.providers.conftest import KEY, canned, chat

# kind -> (base URL after the server's address, path of its listing)
LISTINGS = {
    "openai": ("/v1", "/v1/models"),
    "anthropic": ("", "/v1/models"),
    "gemini": ("/v1beta", "/v1beta/models"),
    "ollama": ("", "/api/tags"),
    "openai_images": ("/v1", "/v1/models"),
    "openai_tts": ("/v1", "/v1/models"),
    "elevenlabs": ("", "/v1/models"),
    "a1111": ("", "/sdapi/v1/sd-models"),
}
KINDS = list(LISTINGS)
A1111_SECRET = f"qf:{KEY}"  # user:password of --api-auth; the password is the secret part
# kind -> (where a minimal generation goes, for the OpenAI-style kinds' fallback)
GENERATIONS = {
    "openai": "/v1/chat/completions",
    "openai_images": "/v1/images/generations",
    "openai_tts": "/v1/audio/speech",
}


def secret_of(kind: str) -> str:
    return A1111_SECRET if kind == "a1111" else KEY


@pytest.fixture
def adapter_of(make, fault):
    return lambda kind, url=None: make(kind, (url or fault.url) + LISTINGS[kind][0])


async def failure(probe) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        await probe
    return raised.value


# ---- healthy listings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "programmed", "listed"),
    [
        ("openai", ["gpt-4o", "o3-mini"], {"gpt-4o", "o3-mini"}),
        ("anthropic", ["claude-sonnet-4"], {"claude-sonnet-4"}),
        ("gemini", ["gemini-2.0-flash", "gemini-2.5-pro"], {"gemini-2.0-flash", "gemini-2.5-pro"}),
        ("ollama", ["llama3.2:latest", "qwen2.5:7b"],
         {"llama3.2:latest", "llama3.2", "qwen2.5:7b"}),
        ("openai_images", ["dall-e-3"], {"dall-e-3"}),
        ("openai_tts", ["tts-1", "gpt-4o-mini-tts"], {"tts-1", "gpt-4o-mini-tts"}),
        ("elevenlabs", ["eleven_multilingual_v2"], {"eleven_multilingual_v2"}),
    ],
)
async def test_a_healthy_listing_gives_the_names_and_spends_no_generation(
    adapter_of, fault, kind, programmed, listed
):
    for name in programmed:
        fault.program(name, ok())

    names = await adapter_of(kind).probe(chat(programmed[0], secret=KEY))

    assert names == listed
    assert [(r.method, r.path) for r in fault.requests] == [("GET", LISTINGS[kind][1])]


async def test_a1111_lists_the_checkpoint_under_the_name_a_request_gives_it(adapter_of, fault):
    fault.program("sd_xl_base_1.0", ok())

    names = await adapter_of("a1111").probe(chat("sd_xl_base_1.0", secret=A1111_SECRET))

    # The name the adapter sends as sd_model_checkpoint, and the file it stands for.
    assert {"sd_xl_base_1.0", "sd_xl_base_1.0.safetensors"} <= names
    assert [(r.method, r.path) for r in fault.requests] == [("GET", "/sdapi/v1/sd-models")]


async def test_a1111_names_are_every_alias_the_server_accepts():
    listing = [{
        "title": "SDXL/juggernaut.safetensors [1a2b3c4d5e]",
        "model_name": "SDXL_juggernaut",
        "hash": "1a2b3c4d5e",
        "sha256": "1a2b3c4d5e" + "0" * 54,
        "filename": "C:\\webui\\models\\Stable-diffusion\\SDXL\\juggernaut.safetensors",
        "config": None,
    }, {"title": "unhashed.ckpt", "model_name": "unhashed", "hash": None, "sha256": None,
        "filename": "/models/unhashed.ckpt", "config": None}]
    async with canned(200, json.dumps(listing).encode()) as client:
        names = await A1111Adapter(client, "http://sd.local").probe(chat("x"))

    assert names == {
        "SDXL/juggernaut.safetensors [1a2b3c4d5e]",
        "SDXL/juggernaut.safetensors",
        "SDXL_juggernaut",
        "juggernaut",
        "juggernaut [1a2b3c4d5e]",
        "1a2b3c4d5e",
        "1a2b3c4d5e" + "0" * 54,
        "unhashed.ckpt",
        "unhashed",
    }


async def test_echo_is_always_up_and_serves_any_model_name():
    # No client at all: a network call would fail.
    assert await EchoAdapter().probe(chat("any-name")) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_it_sends_the_credential_as_its_api_does(adapter_of, fault, kind):
    await adapter_of(kind).probe(chat("m", secret=secret_of(kind)))

    [request] = fault.requests
    headers = {k: v for k, v in request.headers.items()
               if k in ("authorization", "x-api-key", "x-goog-api-key", "xi-api-key")}
    expected = {
        "anthropic": {"x-api-key": KEY},
        "gemini": {"x-goog-api-key": KEY},  # never ?key=: URLs end up in logs
        "elevenlabs": {"xi-api-key": KEY},
        "a1111": {"authorization": "Basic cWY6azN5LVNlY3JldC1WYWx1ZS0wMDQy"},
    }.get(kind, {"authorization": f"Bearer {KEY}"})
    assert headers == expected
    assert KEY not in request.path and KEY not in json.dumps(request.query)
    if kind == "anthropic":
        assert request.headers["anthropic-version"] == "2023-06-01"


# ---- failures, classified as for generations -------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_a_401_is_auth_and_its_message_carries_no_secret(adapter_of, fault, kind):
    secret = secret_of(kind)
    fault.program("*", status(401, message=f"key {KEY} rejected", echo_key=True))

    error = await failure(adapter_of(kind).probe(chat("m", secret=secret)))

    assert (error.category, error.status) == (Category.AUTH, 401)
    assert "rejected" in error.message
    assert KEY not in error.message and secret not in error.message


async def test_a_gemini_key_rejected_with_400_is_auth(adapter_of, fault):
    fault.program("*", status(400, message="API key not valid. Please pass a valid API key."))

    error = await failure(adapter_of("gemini").probe(chat("gemini-x", secret=KEY)))

    assert error.category is Category.AUTH


@pytest.mark.parametrize("kind", KINDS)
async def test_a_closed_port_is_refused_before_connecting(adapter_of, kind):
    error = await failure(adapter_of(kind, closed_port_url()).probe(chat("m", secret=KEY)))

    assert error.category is Category.REFUSED and error.connect is True


@pytest.mark.parametrize("kind", KINDS)
async def test_a_503_is_a_server_error(adapter_of, fault, kind):
    fault.program("*", status(503))

    error = await failure(adapter_of(kind).probe(chat("m", secret=KEY)))

    assert (error.category, error.status) == (Category.SERVER_ERROR, 503)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_stall_past_the_timeout_is_a_timeout(adapter_of, fault, kind):
    fault.program("*", stall(5))
    call = chat("m", secret=KEY, timeout=httpx.Timeout(0.3, connect=2))

    error = await failure(adapter_of(kind).probe(call))

    assert error.category is Category.TIMEOUT and error.connect is False


@pytest.mark.parametrize("kind", KINDS)
async def test_a_redirect_is_not_followed(adapter_of, fault, kind):
    fault.program("*", redirect(fault.url + LISTINGS[kind][1]))

    error = await failure(adapter_of(kind).probe(chat("m", secret=KEY)))

    assert (error.category, error.status) == (Category.BAD_RESPONSE, 302)
    assert len(fault.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("step", [html(), malformed()], ids=["html", "malformed"])
async def test_a_listing_that_is_not_one_is_a_bad_response(adapter_of, fault, kind, step):
    fault.program("*", step)

    error = await failure(adapter_of(kind).probe(chat("m", secret=KEY)))

    assert error.category is Category.BAD_RESPONSE


@pytest.mark.parametrize(
    ("body", "kind"),
    [({"object": "list"}, "openai"), ({"data": "gpt-4o"}, "openai"), ({}, "ollama"),
     ({"detail": "x"}, "elevenlabs"), ({"models": {"name": "m"}}, "gemini")],
)
async def test_a_reply_without_a_list_of_models_is_a_bad_response(body, kind):
    async with canned(200, json.dumps(body).encode()) as client:
        adapter = adapter_class(kind)(client, "http://upstream.test")
        error = await failure(adapter.probe(chat("m")))

    assert error.category is Category.BAD_RESPONSE


# ---- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "cursor"), [("anthropic", "after_id"), ("gemini", "pageToken")])
async def test_it_follows_the_pages_of_a_long_listing(adapter_of, fault, kind, cursor):
    models = [f"model-{n}" for n in range(5)]
    for name in models:
        fault.program(name, ok())
    fault.page_size = 2

    names = await adapter_of(kind).probe(chat("model-0", secret=KEY))

    assert names == set(models)
    assert len(fault.requests) == 3
    assert [cursor in r.query for r in fault.requests] == [False, True, True]
    size = "limit" if kind == "anthropic" else "pageSize"
    assert {r.query[size] for r in fault.requests} == {"1000"}  # asks for the largest page


@pytest.mark.parametrize("kind", ["anthropic", "gemini"])
async def test_a_listing_longer_than_the_pages_a_probe_reads_gives_no_names(
    adapter_of, fault, kind
):
    for n in range(MAX_PAGES + 1):
        fault.program(f"model-{n}", ok())
    fault.page_size = 1

    names = await adapter_of(kind).probe(chat("model-0", secret=KEY))

    assert names is None  # an incomplete listing would report configured models missing
    assert len(fault.requests) == MAX_PAGES


async def test_a_page_cursor_that_does_not_move_ends_the_walk_without_names():
    page = {"models": [{"name": "models/gemini-x"}], "nextPageToken": "same"}
    seen = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("pageToken"))
        return httpx.Response(200, json=page)

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        names = await GeminiAdapter(client, "http://upstream.test/v1beta").probe(chat("m"))

    assert names is None
    assert seen == [None, "same"]


async def test_an_empty_gemini_page_may_leave_its_models_out():
    async with canned(200, b"{}") as client:
        names = await GeminiAdapter(client, "http://upstream.test/v1beta").probe(chat("m"))

    assert names == frozenset()


# ---- the minimal generation of a server without a listing ----------------------------------


@pytest.mark.parametrize("kind", list(GENERATIONS))
@pytest.mark.parametrize("missing", [404, 405])
async def test_without_a_listing_it_makes_a_minimal_generation(adapter_of, fault, kind, missing):
    fault.program("*", status(missing))
    fault.program("local-model", ok())

    names = await adapter_of(kind).probe(chat("local-model", secret=KEY))

    assert names is None
    assert [(r.method, r.path) for r in fault.requests] == [
        ("GET", "/v1/models"), ("POST", GENERATIONS[kind])
    ]
    assert fault.requests[1].json["model"] == "local-model"


async def test_the_minimal_generation_is_short_and_capped(adapter_of, fault):
    fault.program("*", status(404))
    fault.program("local-model", ok())

    await adapter_of("openai").probe(chat("local-model", user="Say OK", secret=KEY))

    assert fault.requests[1].json == {
        "model": "local-model",
        "messages": [{"role": "user", "content": "Say OK"}],
        "max_tokens": PROBE_MAX_TOKENS,
    }
    assert fault.requests[1].headers["authorization"] == f"Bearer {KEY}"


async def test_the_minimal_generation_caps_tokens_under_the_models_own_name(adapter_of, fault):
    fault.program("*", status(404))
    fault.program("o4-mini", ok())
    call = chat("o4-mini", secret=KEY, param_map={"max_tokens": "max_completion_tokens"})

    await adapter_of("openai").probe(call)

    body = fault.requests[1].json
    assert body["max_completion_tokens"] == PROBE_MAX_TOKENS and "max_tokens" not in body


async def test_a_reasoning_model_that_answers_nothing_is_healthy(adapter_of, fault):
    # It spent the whole cap thinking: no content, finish "length". Still a 200.
    fault.program("*", status(404))
    fault.program("qwq", ok(text="", tokens_out=PROBE_MAX_TOKENS, finish="length"))

    assert await adapter_of("openai").probe(chat("qwq", secret=KEY)) is None
    assert fault.requests[1].method == "POST"


@pytest.mark.parametrize("code", [400, 422])
async def test_a_bad_request_on_the_minimal_generation_still_proves_health(
    adapter_of, fault, code
):
    fault.program("*", status(404))
    fault.program("o1", status(code, message="Unsupported parameter: 'max_tokens'"))

    assert await adapter_of("openai").probe(chat("o1", secret=KEY)) is None
    assert len(fault.requests_for("o1")) == 1


@pytest.mark.parametrize(
    ("step", "category"),
    [(status(401, echo_key=True), Category.AUTH), (status(404), Category.UNKNOWN_MODEL),
     (status(429), Category.RATE_LIMITED), (status(500), Category.SERVER_ERROR)],
)
async def test_other_failures_of_the_minimal_generation_are_raised(
    adapter_of, fault, step, category
):
    fault.program("*", status(404))
    fault.program("local-model", step)

    error = await failure(adapter_of("openai").probe(chat("local-model", secret=KEY)))

    assert error.category is category and KEY not in error.message


async def test_a_listing_refused_for_the_key_makes_no_generation(adapter_of, fault):
    fault.program("*", status(401))

    error = await failure(adapter_of("openai").probe(chat("gpt-4o", secret=KEY)))

    assert error.category is Category.AUTH
    assert [r.method for r in fault.requests] == ["GET"]
