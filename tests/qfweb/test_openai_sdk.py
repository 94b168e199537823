"""The stock `openai` SDK against a live qfweb (uvicorn on 127.0.0.1) in front of the fault
server: sync, async, streaming and errors get what the SDK expects (issue 5, "Done when")."""

from __future__ import annotations

import httpx
import openai
import pytest
from asgiref.sync import sync_to_async

from routing.models import Generation
from tests.fault import ok, status, stream

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent():
    """Every request the SDK sends, so a test can see that it did not retry."""
    return []


@pytest.fixture
def sdk(live_url, gateway, sent):
    def make(key: str | None = None, **options) -> openai.OpenAI:
        hooks = {"request": [sent.append]}
        return openai.OpenAI(
            base_url=f"{live_url}/v1", api_key=key or gateway.key, max_retries=options.pop("max_retries", 0),
            http_client=httpx.Client(event_hooks=hooks), **options,
        )

    return make


def test_it_completes_a_chat_as_a_persona(sdk, gateway, fault):
    fault.program("gpt-a", ok(text="Hello there", tokens_in=9, tokens_out=2))
    completion = sdk().chat.completions.create(
        model="persona:writer", messages=[{"role": "user", "content": "Say hello"}], temperature=0.2, max_tokens=50,
    )
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "a:gpt-a"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 2)
    row = Generation.objects.get()
    assert completion._request_id == row.request_id.hex
    assert completion.id == f"chatcmpl-{row.request_id.hex}"
    upstream = fault.requests_for("gpt-a")[0].json
    assert (upstream["temperature"], upstream["max_tokens"]) == (0.2, 50)


def test_it_completes_for_a_task(sdk, fault):
    fault.program("gpt-c", ok(text="short"))
    completion = sdk().chat.completions.create(model="task:summarize", messages=[{"role": "user", "content": "x"}])
    assert completion.model == "b:gpt-c"


async def test_the_async_client_works_too(live_url, gateway, fault):
    fault.program("gpt-a", ok(text="async hello"))
    async with openai.AsyncOpenAI(base_url=f"{live_url}/v1", api_key=gateway.key, max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="persona:writer", messages=[{"role": "user", "content": "hi"}],
        )
        assert completion.choices[0].message.content == "async hello"
        chunks = [c async for c in await client.chat.completions.create(
            model="persona:writer", messages=[{"role": "user", "content": "hi"}], stream=True,
        )]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "async hello"
    assert await sync_to_async(Generation.objects.count)() == 2


def test_it_streams_with_usage_when_asked(sdk, fault):
    fault.program("gpt-a", stream(chunks=("Hel", "lo ", "there"), tokens_in=5, tokens_out=3))
    chunks = list(sdk().chat.completions.create(
        model="persona:writer", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 8


def test_a_stream_broken_mid_way_raises_api_error(sdk, fault):
    fault.program("gpt-a", stream(chunks=("one ", "two ", "three"), cut_after=2))
    received = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in sdk().chat.completions.create(
            model="persona:writer", messages=[{"role": "user", "content": "hi"}], stream=True,
        ):
            received.append(chunk.choices[0].delta.content)
    assert received == ["one ", "two "]
    assert "stream broke" in str(raised.value)
    assert Generation.objects.get().status == "failed_mid_stream"


def test_a_stream_whose_chain_fails_first_raises_the_status_error(sdk, fault):
    fault.program("*", status(503))
    with pytest.raises(openai.InternalServerError) as raised:
        sdk().chat.completions.create(model="persona:writer", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert raised.value.status_code == 502
    assert raised.value.body["code"] == "upstream_failed"


def test_a_bad_key_is_an_authentication_error(sdk):
    with pytest.raises(openai.AuthenticationError) as raised:
        sdk(key="qf_notakey").chat.completions.create(model="persona:writer", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["type"] == "authentication_error"


def test_a_persona_out_of_scope_is_permission_denied_with_no_call(sdk, fault):
    with pytest.raises(openai.PermissionDeniedError) as raised:
        sdk().chat.completions.create(model="persona:critic", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["param"] == "model"
    assert fault.requests == [] and not Generation.objects.exists()


def test_an_unsupported_parameter_is_a_bad_request_naming_it(sdk, fault):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk().chat.completions.create(
            model="persona:writer", messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    assert raised.value.body["param"] == "tools"
    assert fault.requests == []


def test_a_spent_budget_is_not_retried_by_the_sdk(sdk, gateway, fault, sent):
    from personas.models import ApiKey

    ApiKey.objects.filter(name="writer-app").update(monthly_budget=0)
    with pytest.raises(openai.RateLimitError) as raised:
        sdk(max_retries=3).chat.completions.create(model="persona:writer", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["code"] == "budget_exceeded"
    assert len(sent) == 1  # x-should-retry: false
    assert fault.requests == []


def test_it_lists_the_models_a_key_may_use(sdk, gateway):
    ids = [m.id for m in sdk().models.list()]
    assert ids == ["persona:narrator", "persona:painter", "persona:writer", "task:summarize"]
    everything = [m.id for m in sdk(key=gateway.everything).models.list()]
    assert "persona:critic" in everything and "b:gpt-c" in everything
    assert sdk().models.retrieve("persona:writer").id == "persona:writer"
    with pytest.raises(openai.NotFoundError):
        sdk().models.retrieve("persona:critic")


def test_it_generates_an_image(sdk):
    image = sdk().images.generate(model="persona:painter", prompt="a red square", size="256x256")
    import base64

    assert base64.b64decode(image.data[0].b64_json).startswith(b"\x89PNG")


def test_it_speaks(sdk):
    audio = sdk().audio.speech.create(model="persona:narrator", input="Hello", voice="alloy", response_format="wav")
    assert audio.content.startswith(b"RIFF")


@pytest.mark.parametrize("smuggled", ["api_base", "base_url", "api_key"])
def test_an_upstream_address_or_key_in_the_body_is_refused(sdk, fault, smuggled):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk().chat.completions.create(
            model="persona:writer", messages=[{"role": "user", "content": "hi"}],
            extra_body={smuggled: "http://169.254.169.254/"},
        )
    assert raised.value.body["param"] == smuggled
    assert fault.requests == []


def test_a_model_handle_needs_the_override_scope(sdk, gateway, fault):
    with pytest.raises(openai.PermissionDeniedError):
        sdk().chat.completions.create(model="b:gpt-c", messages=[{"role": "user", "content": "hi"}])
    fault.program("gpt-c", ok(text="chosen"))
    completion = sdk(key=gateway.overriding).chat.completions.create(
        model="b:gpt-c", messages=[{"role": "user", "content": "hi"}],
    )
    assert completion.model == "b:gpt-c"
    assert [r.model for r in fault.requests] == ["gpt-c"]
