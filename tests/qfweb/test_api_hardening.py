"""Holes a review of the API found, one regression test each (each failed before its fix):
`params.custom` past the override scope, NaN in parameters, a persona-scoped key moving a
shared provider, a revocation racing the key cache, streams left open when the client leaves
around the commit, a bug after an early commit, and the budget month's time zone."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from routing.models import Generation

pytestmark = pytest.mark.django_db(transaction=True)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def post(path: str, key: str, body) -> object:
    data = body if isinstance(body, str) else json.dumps(body)
    return await AsyncClient().post(path, data, content_type="application/json", headers=auth(key))


# ---- params.custom needs the override scope ------------------------------------------


@pytest.mark.parametrize(
    "custom",
    [
        {"model": "gpt-c"},  # another model than the persona's, with no override scope
        {"messages": [{"role": "user", "content": "no system prompt"}]},  # drops the persona's
    ],
)
async def test_custom_params_cannot_pick_the_upstream_model_or_messages(gateway, fault, custom):
    from tests.fault import ok

    fault.program("*", ok(text="x"))
    body = {"prompt": "hi", "params": {"custom": custom}}
    response = await post("/api/personas/writer/generate", gateway.key, body)
    sent = [r.json for r in fault.requests]
    assert response.status_code in (400, 403, 422), (response.status_code, sent)
    assert sent == []



async def test_one_key_cannot_trip_the_shared_circuit_with_custom_params(gateway, fault):
    """custom={"stream": true} makes every upstream answer unreadable (bad_response, which
    counts, R1): three requests from one key open a:gpt-a for every other key."""
    from tests.fault import ok

    fault.program("*", ok(text="x"))
    for _ in range(3):
        await post("/api/personas/writer/generate", gateway.key, {"prompt": "hi", "params": {"custom": {"stream": True}}})
    clean = await post("/api/personas/writer/generate", gateway.everything, {"prompt": "hi"})
    assert clean.json()["served"]["model"] == "a:gpt-a", clean.json()["attempts"]


# ---- NaN inside params is a 422, not a 500 --------------------------------------------


async def test_nan_in_custom_params_is_a_4xx_not_a_500(gateway, fault):
    raw = '{"prompt": "hi", "params": {"custom": {"x": NaN}}}'
    response = await post("/api/personas/writer/generate", gateway.key, raw)
    assert 400 <= response.status_code < 500, response.content


# ---- a write key scoped to persona A must not change what persona B runs ----------------


async def test_a_persona_scoped_write_key_cannot_repoint_a_shared_provider(gateway, fault):
    from routing.models import Provider
    from tests.factories import issue_key

    key = await sync_to_async(issue_key)(name="writer-admin", personas=("writer",), may_write=True)
    response = await AsyncClient().patch(
        "/api/providers/b", json.dumps({"base_url": "https://collector.example/v1"}),
        content_type="application/json", headers=auth(key),
    )
    b = await Provider.objects.aget(name="b")  # serves persona critic, outside the key's scope
    # Either refused, or the credential no longer follows the provider to the new host.
    assert response.status_code in (403, 422) or b.credential_ref == "", (response.status_code, b.base_url, b.credential_ref)


# ---- the Caller cache labels a load with the version read before it ------------------


def test_a_key_revoked_while_its_scopes_load_is_refused_at_once():
    from personas import keys
    from personas.models import ApiKey

    issued = keys.api_key_issue(name="k", all_personas=True)
    real = keys.caller_of

    def racing(api_key):  # another process revokes between our SELECT and our cache write
        caller = real(api_key)
        keys.api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))
        return caller

    keys.caller_of = racing
    try:
        keys.caller_for_key(issued.plaintext)
    finally:
        keys.caller_of = real
    assert keys.caller_for_key(issued.plaintext) is None


# ---- the early-commit stream (qfweb.sse._after_early_commit) ------------------------


JOB = SimpleNamespace(request_id="0" * 32)


class FakeStream:
    served = "a:gpt-a"
    request_id = "0" * 32

    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


def _early_commit(monkeypatch, settings, opened):
    from qfweb import sse

    settings.QF_STREAM_COMMIT_TIMEOUT = 0.01
    settings.QF_STREAM_PING_S = 60
    monkeypatch.setattr(sse, "open_stream", opened)
    monkeypatch.setattr(sse, "start_run", _started)
    return sse


async def _started(job):
    return SimpleNamespace(warnings=())


async def test_a_client_leaving_at_a_ping_after_the_model_answered_still_closes_the_stream(monkeypatch, settings):
    import asyncio

    answered, stream = asyncio.Event(), FakeStream()

    async def opened(job, run=None):
        await answered.wait()
        return stream

    sse = _early_commit(monkeypatch, settings, opened)
    response = await sse.stream_response(job=JOB, renderer=None)
    events = response._iterator
    assert await anext(events) == sse.PING
    answered.set()  # the first content arrives while the ping is being sent ...
    await asyncio.sleep(0.01)
    await events.aclose()  # ... and the client is gone
    assert stream.closed  # else: upstream left open, no Generation row


async def test_a_committed_stream_never_iterated_is_still_closed(monkeypatch, settings):
    """Django calls response.close() (not aclose on our generator) when the client leaves
    between the view's return and the first chunk."""
    import asyncio

    from qfweb import sse

    stream = FakeStream()

    async def opened(job, run=None):
        return stream

    monkeypatch.setattr(sse, "open_stream", opened)
    monkeypatch.setattr(sse, "start_run", _started)
    response = await sse.stream_response(job=JOB, renderer=None)
    await sync_to_async(response.close)()
    await asyncio.sleep(0.05)
    assert stream.closed


async def test_a_bug_after_an_early_commit_still_ends_with_an_error_event(monkeypatch, settings):
    import asyncio

    from personas.api.generate import EVENTS

    answered = asyncio.Event()

    async def opened(job, run=None):
        await answered.wait()
        raise RuntimeError("a bug in the walk")

    sse = _early_commit(monkeypatch, settings, opened)
    response = await sse.stream_response(job=JOB, renderer=EVENTS)
    events = response._iterator
    assert await anext(events) == sse.PING
    answered.set()
    chunks = []
    try:
        async for chunk in events:
            chunks.append(chunk)
    except RuntimeError:
        pass
    assert chunks and chunks[-1].startswith("event: error"), chunks


# ---- the budget month is TIME_ZONE's month --------------------------------------------


def test_the_budget_month_is_the_local_month(settings):
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    import time_machine

    from qfweb.errors import BudgetExceeded
    from routing.budget import Budget, enforce

    settings.TIME_ZONE = "America/New_York"
    local = ZoneInfo("America/New_York")
    spent = Generation.objects.create(api_key_id=7, status="ok", cost=Decimal("1.00"))
    Generation.objects.filter(pk=spent.pk).update(created_at=datetime(2025, 5, 20, 12, tzinfo=local))
    budget = Budget("key", "7", Decimal("1.00"))
    # 31 May, 22:00 in New York (already 1 June in UTC): May's budget is still spent here.
    with time_machine.travel(datetime(2025, 5, 31, 22, tzinfo=local), tick=False):
        with pytest.raises(BudgetExceeded):
            enforce([budget])
