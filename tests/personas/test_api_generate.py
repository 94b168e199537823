"""/api/ generation over real HTTP to the fault server: as a persona, for a task, streamed,
and every refusal before a provider is called (issue 5 items 2 and 3; RELIABILITY.md tests
13..17 HTTP halves and 21, 22, 25)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, override_settings

from routing.models import Generation
from tests.fault import ok, status, stream
from tests.routing.engine_setup import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(path: str, key: str, body: dict):
    return await AsyncClient().post(path, body, content_type="application/json", headers=auth(key))


def sse_events(raw: bytes) -> list[tuple[str, object]]:
    """(event name, parsed data) for each SSE event; comments as ("comment", text)."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", None
        for line in block.split("\n"):
            if line.startswith(":"):
                name, data = "comment", line[1:].strip()
            elif line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: "):])
        events.append((name, data))
    return events


async def body_of(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


async def generations() -> list[Generation]:
    return await sync_to_async(list)(Generation.objects.order_by("created_at"))


async def test_it_generates_as_a_persona_and_says_who_served(gateway, fault):
    fault.program("gpt-a", ok(text="Hello there", tokens_in=12, tokens_out=3))
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "Say hello"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["output"]["text"] == "Hello there"
    assert body["served"] == {"model": "a:gpt-a", "provider": "a", "level": "persona"}
    assert body["status"] == "ok"
    assert body["usage"] == {"tokens_in": 12, "tokens_out": 3, "images": 0, "characters": 0, "estimated": False}
    assert body["cost"] == "0.00006"  # 12 x 2.5/1M + 3 x 10/1M
    assert [a["outcome"] for a in body["attempts"]] == ["ok"]
    assert response["X-Request-ID"] == body["request_id"]
    assert response["X-QF-Served-Model"] == "a:gpt-a"
    [row] = await generations()
    assert row.request_id.hex == body["request_id"] and row.persona_slug == "writer"
    assert row.api_key_id is not None
    sent = fault.requests_for("gpt-a")[0].json["messages"]
    assert sent == [{"role": "system", "content": "You write."}, {"role": "user", "content": "Say hello"}]


async def test_it_falls_back_and_lists_the_attempts(gateway, fault):
    fault.program("gpt-a", status(503))
    fault.program("gpt-b", ok(text="from b"))
    body = (await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi"})).json()
    assert body["status"] == "ok_after_fallback"
    assert body["served"]["model"] == "b:gpt-b" and body["served"]["level"] == "persona_fallback"
    assert [(a["model"], a["outcome"], a["http_status"]) for a in body["attempts"]] == [
        ("a:gpt-a", "http_error", 503), ("b:gpt-b", "ok", None),
    ]


async def test_it_answers_502_with_the_attempts_when_every_model_fails(gateway, fault):
    fault.program("*", status(500, message=f"boom, key {SECRET}", echo_key=True))
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi"})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_failed" and error["request_id"] == response["X-Request-ID"]
    assert [a["model"] for a in error["attempts"]][:2] == ["a:gpt-a", "b:gpt-b"]
    assert SECRET not in response.content.decode()
    assert "boom" not in response.content.decode()  # upstream text is for operators only


async def test_it_completes_with_the_task_model(gateway, fault):
    fault.program("gpt-c", ok(text="short"))
    response = await post("/api/tasks/summarize/complete", gateway.key, {"prompt": "long text"})
    assert response.status_code == 200, response.content
    assert response.json()["served"] == {"model": "b:gpt-c", "provider": "b", "level": "task"}


async def test_it_takes_persona_and_task_in_the_body(gateway, fault):
    body = {"persona": "writer", "task": "summarize", "messages": [{"role": "user", "content": "x"}]}
    response = await post("/api/generate", gateway.key, body)
    assert response.status_code == 200, response.content
    [row] = await generations()
    assert (row.persona_slug, row.task_name) == ("writer", "summarize")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/personas/critic/generate", {"prompt": "hi"}, "persona"),
        ("/api/tasks/translate/complete", {"prompt": "hi"}, "task"),
        ("/api/personas/writer/generate", {"prompt": "hi", "task": "other"}, "task"),
        ("/api/generate", {"persona": "critic", "prompt": "hi"}, "persona"),
        ("/api/personas/writer/generate", {"prompt": "hi", "override": ["b:gpt-c"]}, "override"),
        ("/api/personas/writer/generate", {"prompt": "hi", "task": "auto"}, "task"),
    ],
)
async def test_it_refuses_out_of_scope_with_403_and_calls_nobody(gateway, fault, path, body, field):
    response = await post(path, gateway.key, body)
    assert response.status_code == 403, response.content
    assert response.json()["error"]["field"] == field
    assert fault.requests == [] and await generations() == []


@pytest.mark.parametrize("smuggled", ["api_base", "base_url", "api_key"])
async def test_it_rejects_upstream_addresses_and_keys_in_the_body(gateway, fault, smuggled):
    body = {"prompt": "hi", smuggled: "http://169.254.169.254/"}
    response = await post("/api/personas/writer/generate", gateway.everything, body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == smuggled
    assert fault.requests == []


async def test_an_override_runs_only_configured_enabled_models(gateway, fault):
    refused = await post("/api/personas/writer/generate", gateway.overriding, {"prompt": "hi", "override": ["http://evil.example/v1"]})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "override"
    fault.program("gpt-c", ok(text="c"))
    served = await post("/api/personas/writer/generate", gateway.overriding, {"prompt": "hi", "override": ["b:gpt-c"]})
    assert served.json()["served"]["level"] == "override"
    assert [r.model for r in fault.requests] == ["gpt-c"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "messages"),
        ({"prompt": "hi", "messages": [{"role": "user", "content": "x"}]}, "prompt"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"prompt": "hi", "params": {"temperature": "hot"}}, "params.temperature"),
        ({"prompt": "hi", "strategy": "fastest"}, "strategy"),
    ],
)
async def test_bad_input_gets_a_4xx_naming_the_field(gateway, fault, body, field):
    response = await post("/api/personas/writer/generate", gateway.key, body)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["field"] == field
    assert fault.requests == []


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(gateway, fault):
    from personas.models import ApiKey

    await ApiKey.objects.filter(name="writer-app").aupdate(rate_limit_rpm=2)
    codes = [(await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi"})) for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert 1 <= int(codes[2]["Retry-After"]) <= 60
    assert len(fault.requests) == 2


async def test_a_key_over_its_budget_is_refused_with_no_retry(gateway, fault):
    from personas.models import ApiKey

    await ApiKey.objects.filter(name="writer-app").aupdate(monthly_budget="0.00")
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi"})
    assert response.status_code == 429
    assert response["x-should-retry"] == "false"
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert fault.requests == []


# ---- streams --------------------------------------------------------------------------


async def test_a_stream_commits_with_the_served_model_and_ends_with_done(gateway, fault):
    fault.program("gpt-a", status(503))
    fault.program("gpt-b", stream(chunks=("Hel", "lo")))
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi", "stream": True})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    assert response["X-QF-Served-Model"] == "b:gpt-b"
    assert "Content-Encoding" not in response
    events = sse_events(await body_of(response))
    assert [e for e in events if e[0] == "delta"] == [("delta", {"text": "Hel"}), ("delta", {"text": "lo"})]
    name, done = events[-1]
    assert name == "done" and done["status"] == "ok_after_fallback"
    assert done["request_id"] == response["X-Request-ID"]


async def test_a_stream_whose_chain_fails_before_content_is_a_json_error(gateway, fault):
    fault.program("*", status(503))
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi", "stream": True})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_failed"


async def test_a_stream_that_breaks_after_content_ends_with_an_error_event(gateway, fault):
    fault.program("gpt-a", stream(chunks=("one ", "two ", "three"), cut_after=2))
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi", "stream": True})
    events = sse_events(await body_of(response))
    assert [e[1]["text"] for e in events if e[0] == "delta"] == ["one ", "two "]
    name, data = events[-1]
    assert name == "error" and data["error"]["code"] == "upstream_stream_error"
    [row] = await generations()
    assert row.status == "failed_mid_stream"


@override_settings(QF_STREAM_COMMIT_TIMEOUT=0.2, QF_STREAM_PING_S=0.2)
async def test_a_silent_model_gets_the_stream_committed_with_pings(gateway, fault):
    fault.program("gpt-a", stream(chunks=("", "late"), delay=0.7))  # no content for 0.7 s
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi", "stream": True})
    assert response.status_code == 200 and "X-QF-Served-Model" not in response
    events = sse_events(await body_of(response))
    assert events[0] == ("comment", "ping")
    assert ("delta", {"text": "late"}) in events and events[-1][0] == "done"


@override_settings(QF_STREAM_COMMIT_TIMEOUT=0.2, QF_STREAM_PING_S=0.2)
async def test_a_chain_failing_after_an_early_commit_sends_an_error_event(gateway, fault):
    from tests.fault import stall

    fault.program("*", stall(0.5), status(503))
    fault.program("gpt-a", stall(0.5))
    response = await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi", "stream": True})
    assert response.status_code == 200
    events = sse_events(await body_of(response))
    assert events[0] == ("comment", "ping")
    assert events[-1][0] == "error"


# ---- explain ----------------------------------------------------------------------------


async def test_resolve_explains_the_chain_and_calls_nobody(gateway, fault):
    client = AsyncClient()
    response = await client.get("/api/personas/writer/resolve", {"task": "summarize"}, headers=auth(gateway.key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(e["model"], e["level"]) for e in body["chain"]][:3] == [
        ("a:gpt-a", "persona"), ("b:gpt-b", "persona_fallback"), ("b:gpt-c", "task"),
    ]
    assert fault.requests == []
    hidden = await client.get("/api/personas/critic/resolve", headers=auth(gateway.key))
    assert hidden.status_code == 404
