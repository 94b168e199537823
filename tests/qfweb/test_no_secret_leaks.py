"""One known provider secret, fed through every exit (STYLE B-12; RELIABILITY.md required
test 28): upstreams that echo it in their error bodies, then every API response and header,
the OpenAI-shaped errors, a broken stream, the usage rows as staff and as the key, the
provider pages of the API and the admin, and the logs. It appears nowhere."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from qfweb.crypto import encrypt
from routing.models import Attempt, Generation, Provider
from tests.fault import status, stream
from tests.routing.engine_setup import SECRET

pytestmark = pytest.mark.django_db(transaction=True)
STORED_SECRET = "sk-stored-secret-9876543210zyxwvu"


def exposed(response) -> str:
    """Everything a client sees of a response: status line headers and body."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return headers + "\n" + body.decode(errors="replace")


async def afetch(method: str, path: str, key: str, body: dict | None = None) -> str:
    client = AsyncClient()
    headers = {"Authorization": f"Bearer {key}"}
    if method == "post":
        response = await client.post(path, body or {}, content_type="application/json", headers=headers)
    else:
        response = await client.get(path, headers=headers)
    if response.streaming:
        chunks = [chunk async for chunk in response.streaming_content]
        return "\n".join(f"{k}: {v}" for k, v in response.items()) + b"".join(chunks).decode()
    return exposed(response)


async def test_a_provider_secret_leaves_by_no_exit(gateway, fault, caplog, admin_client):
    await Provider.objects.filter(name="b").aupdate(credential_ref="", credential_encrypted=encrypt(STORED_SECRET))
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    # Upstreams that quote the key they were sent, in every failure body and mid-stream.
    fault.program("*", status(401, echo_key=True))
    seen.append(await afetch("post", "/api/personas/writer/generate", gateway.key, {"prompt": "hi"}))
    seen.append(await afetch("post", "/v1/chat/completions", gateway.key,
                             {"model": "persona:writer", "messages": [{"role": "user", "content": "hi"}]}))
    fault.reset_programs()
    fault.program("gpt-a", stream(chunks=("one ", "two "), error_event="overloaded"))
    seen.append(await afetch("post", "/api/personas/writer/generate", gateway.key, {"prompt": "hi", "stream": True}))
    request_ids = [g.request_id.hex async for g in Generation.objects.all()]
    assert len(request_ids) == 3
    for path in ["/api/usage", "/api/usage/summary", *(f"/api/usage/{r}" for r in request_ids)]:
        seen.append(await afetch("get", path, gateway.key))
    # Operators see the attempts' error texts: still redacted.
    staff_pages = ["/api/usage", *(f"/api/usage/{r}" for r in request_ids), "/api/providers", "/api/providers/b",
                   reverse("admin:routing_provider_change", args=[(await Provider.objects.aget(name="b")).pk]),
                   reverse("admin:routing_generation_changelist"), reverse("admin:routing_attempt_changelist")]
    for path in staff_pages:
        response = await sync_to_async(admin_client.get)(path)
        assert response.status_code == 200, path
        seen.append(exposed(response))
    stored = [a.error_text async for a in Attempt.objects.all()]
    assert any("401" in text or "key" in text.lower() for text in stored)  # the echoes were there
    everything = "\n".join([*seen, *stored, caplog.text])
    assert SECRET not in everything
    assert STORED_SECRET not in everything
