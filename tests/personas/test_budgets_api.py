"""Monthly budgets through the engine, over real HTTP to the fault server (issue 6): a spent
budget of a persona or a key is refused by /api/, /v1/ and `qf generate` before any provider
is called; one past its warning level is served with the X-QF-Budget-Warning header."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http.response import HttpResponseBase
from django.test import AsyncClient

from personas.models import ApiKey, Persona
from qfweb.sse import BUDGET_HEADER
from routing.models import BudgetAlert, Generation
from tests.fault import ok, stream

pytestmark = pytest.mark.django_db(transaction=True)
CHAT = {"model": "persona:writer", "messages": [{"role": "user", "content": "hi"}]}
# interface -> (path, body): both APIs, whole and streamed, as persona `writer`
CALLS = {
    "api": ("/api/personas/writer/generate", {"prompt": "hi"}),
    "api-stream": ("/api/personas/writer/generate", {"prompt": "hi", "stream": True}),
    "v1": ("/v1/chat/completions", CHAT),
    "v1-stream": ("/v1/chat/completions", {**CHAT, "stream": True}),
}


def writer_budget(limit: str, spent: str) -> None:
    """Give persona `writer` a monthly budget and this month's spend (by some other key)."""
    persona = Persona.objects.get(slug="writer")
    persona.monthly_budget = Decimal(limit)
    persona.save()  # save(), not update(): the profiles are rebuilt on the config version
    Generation.objects.create(persona_slug="writer", status="ok", cost=Decimal(spent))


def key_budget(limit: str, spent: str) -> int:
    """Give key `writer-app` a monthly budget and this month's spend; its id."""
    api_key = ApiKey.objects.get(name="writer-app")
    ApiKey.objects.filter(pk=api_key.pk).update(monthly_budget=Decimal(limit))
    Generation.objects.create(api_key_id=api_key.pk, status="ok", cost=Decimal(spent))
    return api_key.pk


async def call(interface: str, key: str) -> tuple[HttpResponseBase, str]:
    """The response and its whole body (a stream read to its end, so it settles)."""
    path, body = CALLS[interface]
    response = await AsyncClient().post(
        path, body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
    )
    if response.streaming:
        return response, b"".join([c async for c in response.streaming_content]).decode()
    return response, response.content.decode()


async def generation_count() -> int:
    return await Generation.objects.acount()


def qf_generate(persona: str) -> str:
    out = io.StringIO()
    call_command("qf", "generate", "--persona", persona, "--prompt", "hi", stdout=out)
    return out.getvalue()


def error_of(text: str) -> dict:
    return json.loads(text)["error"]


# ---- a spent budget: refused, nobody called, nothing recorded ------------------------------


@pytest.mark.parametrize("interface", CALLS)
async def test_a_spent_persona_budget_is_refused_before_any_call(gateway, fault, interface):
    await sync_to_async(writer_budget)("1.00", "1.00")
    before = await generation_count()
    response, text = await call(interface, gateway.key)
    assert response.status_code == 429, text
    assert response["x-should-retry"] == "false"
    assert response["Content-Type"].startswith("application/json")
    error = error_of(text)
    assert error["code"] == "budget_exceeded"
    assert "persona writer" in error["message"] and "renews" in error["message"]
    # /api/ names the field; /v1/ names what the client chose it through, its `model`.
    if interface.startswith("api"):
        assert error["field"] == "persona"
    else:
        assert (error["param"], error["type"]) == ("model", "insufficient_quota")
    assert fault.requests == []
    assert await generation_count() == before
    assert BUDGET_HEADER not in response


async def test_a_spent_persona_budget_refuses_every_key(gateway, fault):
    await sync_to_async(writer_budget)("2.00", "2.50")
    for key in (gateway.key, gateway.everything):
        response, _ = await call("api", key)
        assert response.status_code == 429
    assert fault.requests == []


async def test_a_persona_without_budget_is_not_limited_by_another_ones(gateway, fault):
    critic = await Persona.objects.aget(slug="critic")
    critic.monthly_budget = Decimal("1.00")
    await sync_to_async(critic.save)()
    await Generation.objects.acreate(persona_slug="critic", status="ok", cost=Decimal("5"))
    await Generation.objects.acreate(persona_slug="writer", status="ok", cost=Decimal("5"))
    response, text = await call("api", gateway.key)
    assert response.status_code == 200, text
    assert BUDGET_HEADER not in response


# ---- past the warning level: served, with the header ---------------------------------------


@pytest.mark.parametrize("interface", CALLS)
async def test_past_the_warning_level_it_serves_and_warns(gateway, fault, interface):
    fault.program("gpt-a", ok(text="Hello there"))
    await sync_to_async(writer_budget)("1.00", "0.85")
    response, text = await call(interface, gateway.key)
    assert response.status_code == 200, text
    assert "Hello" in text
    assert response[BUDGET_HEADER] == "persona writer has spent 85 % of its monthly budget"
    assert len(fault.requests_for("gpt-a")) == 1
    assert await BudgetAlert.objects.filter(subject="writer").acount() == 1


@pytest.mark.parametrize("interface", CALLS)
async def test_below_the_warning_level_there_is_no_header(gateway, fault, interface):
    await sync_to_async(writer_budget)("1.00", "0.79")
    response, text = await call(interface, gateway.key)
    assert response.status_code == 200, text
    assert BUDGET_HEADER not in response
    assert await BudgetAlert.objects.acount() == 0


# Known gap (qfweb/sse.py, reported to the lead): a stream committed before its first
# content (S3) sends its headers before the engine's warnings are read.
@pytest.mark.parametrize("interface", ["api-stream", "v1-stream"])
async def test_a_late_committed_stream_still_warns(gateway, fault, interface, settings):
    settings.QF_STREAM_COMMIT_TIMEOUT = 0.2
    settings.QF_STREAM_PING_S = 0.2
    fault.program("gpt-a", stream(chunks=("", "late"), delay=0.5))
    await sync_to_async(writer_budget)("1.00", "0.85")
    response, text = await call(interface, gateway.key)
    assert response.status_code == 200 and "late" in text
    assert response[BUDGET_HEADER] == "persona writer has spent 85 % of its monthly budget"


# ---- the key's budget, as before, and with the persona's ------------------------------------


@pytest.mark.parametrize("interface", CALLS)
async def test_a_spent_key_budget_is_refused_naming_the_key(gateway, fault, interface):
    key_id = await sync_to_async(key_budget)("0.50", "0.50")
    response, text = await call(interface, gateway.key)
    assert response.status_code == 429, text
    assert response["x-should-retry"] == "false"
    error = error_of(text)
    assert error["code"] == "budget_exceeded" and f"key {key_id}" in error["message"]
    assert error.get("field", error.get("param")) == "key"
    assert fault.requests == []
    # Another key, of its own budget, still gets served.
    served, _ = await call(interface, gateway.everything)
    assert served.status_code == 200


async def test_both_budgets_warn_in_one_header(gateway, fault):
    key_id = await sync_to_async(key_budget)("1.00", "0.90")
    await sync_to_async(writer_budget)("10.00", "9.00")
    response, text = await call("api", gateway.key)
    assert response.status_code == 200, text
    assert response[BUDGET_HEADER] == (
        f"key {key_id} has spent 90 % of its monthly budget; "
        "persona writer has spent 90 % of its monthly budget"
    )


async def test_a_spent_key_is_refused_even_when_the_persona_has_room(gateway, fault):
    await sync_to_async(key_budget)("1.00", "1.00")
    await sync_to_async(writer_budget)("100.00", "0")
    response, text = await call("api", gateway.key)
    assert response.status_code == 429 and error_of(text)["field"] == "key"
    assert fault.requests == []


# ---- the command line goes through the engine too -------------------------------------------


def test_qf_generate_refuses_a_spent_persona(gateway, fault):
    writer_budget("3.00", "3.10")
    with pytest.raises(CommandError) as raised:
        qf_generate("writer")
    assert "persona writer" in str(raised.value) and "renews" in str(raised.value)
    assert fault.requests == []
    assert Generation.objects.count() == 1  # only the spend above


def test_qf_generate_serves_a_persona_with_room(gateway, fault):
    fault.program("gpt-a", ok(text="Hello there"))
    writer_budget("3.00", "2.90")
    printed = qf_generate("writer")
    assert "Hello there" in printed
    assert "Warning: persona writer has spent 96 % of its monthly budget" in printed
    assert len(fault.requests_for("gpt-a")) == 1
    assert BudgetAlert.objects.filter(subject="writer", level=80).exists()
