"""qfweb.asgi_handler: Django's ASGI handler with request_started and the response's close
run inline unless the request has its thread (issue 8)."""

from __future__ import annotations

import hashlib
import inspect
import threading

import pytest
from django.contrib.auth.models import User
from django.core.handlers import asgi
from django.core.signals import request_finished
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from tests.asgi_client import asgi_client
from tests.fault import ok

pytestmark = pytest.mark.django_db(transaction=True)

# inspect.getsource(django.core.handlers.asgi.ASGIHandler.handle) of Django 5.2.19.
DJANGO_HANDLE_SHA256 = "98faeb5bef800331e6a8002fbc96b30e4122a23438ae45a047190a531ea11323"


def test_djangos_handle_is_the_one_ours_was_copied_from():
    source = inspect.getsource(asgi.ASGIHandler.handle)
    assert hashlib.sha256(source.encode()).hexdigest() == DJANGO_HANDLE_SHA256, (
        "Django's ASGIHandler.handle changed: re-read qfweb/asgi_handler.py against the new "
        "Django, carry its changes over, then update DJANGO_HANDLE_SHA256"
    )


async def test_an_async_api_request_starts_no_thread(gateway, fault, monkeypatch, loop_thread_without_connection):
    fault.program("gpt-a", ok(text="Hello"))
    body = {"model": "persona:writer", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Authorization": f"Bearer {gateway.key}"}
    async with asgi_client() as client:
        # Warm-up: loading the key and the configuration is work for a thread.
        assert (await client.post("/v1/chat/completions", json=body, headers=headers)).status_code == 200
        started: list[str] = []
        start = threading.Thread.start

        def recorded(thread: threading.Thread) -> None:
            started.append(thread.name)
            start(thread)

        monkeypatch.setattr(threading.Thread, "start", recorded)
        response = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello"
    assert started == []


def sync_view(request: HttpRequest) -> HttpResponse:
    User.objects.exists()  # opens this thread's database connection
    return HttpResponse(headers={"X-Thread": str(threading.get_ident())})


async def async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(headers={"X-Thread": str(threading.get_ident())})


urlpatterns = [path("sync/", sync_view), path("async/", async_view)]


@pytest.fixture
def finished():
    """(thread, whether its database connection is closed) for each request_finished; the
    receiver runs after Django's close_old_connections, connected at import."""
    calls: list[tuple[int, bool]] = []

    def receiver(**_: object) -> None:
        calls.append((threading.get_ident(), connection.connection is None))

    request_finished.connect(receiver)
    yield calls
    request_finished.disconnect(receiver)


@override_settings(ROOT_URLCONF=__name__)
async def test_a_sync_view_is_finished_in_its_thread_and_its_connection_closed(finished):
    async with asgi_client() as client:
        response = await client.get("/sync/")
    assert response.status_code == 200
    [(thread, closed)] = finished
    assert thread == int(response.headers["X-Thread"]) != threading.get_ident()
    # Django never closes SQLite's in-memory test database; every other one is closed here.
    assert closed or connection.vendor == "sqlite"


@override_settings(ROOT_URLCONF=__name__)
async def test_an_async_view_is_finished_once_on_the_loop(finished, loop_thread_without_connection):
    async with asgi_client() as client:
        response = await client.get("/async/")
    assert response.status_code == 200
    assert int(response.headers["X-Thread"]) == threading.get_ident()
    assert [thread for thread, _ in finished] == [threading.get_ident()]



def test_signals_go_to_a_thread_while_this_thread_holds_an_open_connection(transactional_db):
    """Inline, Django's close_old_connections would act on the connection of the thread the
    loop runs on: never open under a server, but the test's own in tests (where, without
    database access, it failed in CI)."""
    from qfweb.asgi_handler import inline_is_safe

    connection.ensure_connection()
    assert not inline_is_safe()
    connection.close()
    assert inline_is_safe() or connection.vendor == "sqlite"  # the in-memory one never closes
