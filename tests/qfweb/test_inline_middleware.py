"""Django's middleware with its hooks on the event loop (qfweb.middleware.InlineHooks), on
the async path as an ASGI server drives it: an API request hops to no thread, while a
dashboard request that saves its session or messages still does so, and CSRF still holds
(issue 8)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import include, path

from personas.keys import api_key_issue
from personas.models import ApiKey
from tests.asgi_client import asgi_client, record_hops
from tests.fault import ok

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_api_request_makes_no_thread_hop_once_warm(gateway, fault, monkeypatch, loop_thread_without_connection):
    fault.program("gpt-a", ok(text="Hello"))
    request = {"json": {"prompt": "hi"}, "headers": {"Authorization": f"Bearer {gateway.key}"}}
    async with asgi_client() as client:
        # Warm-up: the key's scopes and the configuration are loaded (in a thread) once.
        assert (await client.post("/api/personas/writer/generate", **request)).status_code == 200
        hops = record_hops(monkeypatch)
        response = await client.post("/api/personas/writer/generate", **request)
    assert response.status_code == 200, response.text
    assert response.json()["output"]["text"] == "Hello"
    # The usage rows are written in a thread by a task of their own (test_usage_batches.py).
    assert hops == []


async def dashboard_login(client):
    """Log in as pytest-django's admin_user through the login form, with the CSRF token its
    page set."""
    assert (await client.get("/login/")).status_code == 200
    form = {"username": "admin", "password": "password", "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    return await client.post("/login/", data=form)


async def test_a_login_saves_its_session_on_the_async_path(admin_user):
    async with asgi_client() as client:
        response = await dashboard_login(client)
        assert response.status_code == 302, response.text
        session_key = client.cookies["sessionid"]
        assert await Session.objects.filter(session_key=session_key).aexists()
        # The saved session is the logged-in one: the next page is served, not the login form.
        assert (await client.get("/keys/")).status_code == 200


async def test_a_message_added_by_a_dashboard_view_is_shown_on_the_next_page_once(admin_user):
    api_key = await sync_to_async(lambda: api_key_issue(name="doomed", created_by=admin_user).api_key)()
    async with asgi_client() as client:
        await dashboard_login(client)
        token = {"X-CSRFToken": client.cookies["csrftoken"]}
        revoked = await client.post(f"/keys/{api_key.pk}/revoke/", headers=token)
        assert revoked.status_code == 303, revoked.text
        assert "Revoked key doomed" in (await client.get("/keys/")).text
        assert "Revoked key doomed" not in (await client.get("/keys/")).text
    assert (await ApiKey.objects.aget(pk=api_key.pk)).revoked_at is not None


def note(request: HttpRequest) -> HttpResponse:
    """A view that adds a message without reading the session itself."""
    messages.info(request, "Noted in the session")
    return HttpResponse("noted")


urlpatterns = [path("note/", note), path("", include("qfweb.urls"))]


SESSION_MESSAGES = "django.contrib.messages.storage.session.SessionStorage"


@override_settings(ROOT_URLCONF=__name__, MESSAGE_STORAGE=SESSION_MESSAGES)
async def test_a_message_stored_in_an_unread_session_is_saved_in_the_thread(admin_user):
    """Storing it loads the session from the database in MessageMiddleware's process_response,
    which cannot run on the loop."""
    async with asgi_client() as client:
        await dashboard_login(client)
        response = await client.get("/note/")
        assert response.status_code == 200, response.text
        assert "Noted in the session" in (await client.get("/keys/")).text


async def test_a_dashboard_post_without_a_csrf_token_is_refused(admin_user):
    api_key = await sync_to_async(lambda: api_key_issue(name="kept", created_by=admin_user).api_key)()
    async with asgi_client() as client:
        no_token = {"username": "admin", "password": "password"}
        assert (await client.post("/login/", data=no_token)).status_code == 403
        await dashboard_login(client)
        response = await client.post(f"/keys/{api_key.pk}/revoke/")
    assert response.status_code == 403
    assert (await ApiKey.objects.aget(pk=api_key.pk)).revoked_at is None
