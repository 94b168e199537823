"""The /api/ root: the OpenAPI document, authentication and the error shape."""
from __future__ import annotations

import asyncio

import pytest

from tests.factories import bearer, issue_key


def test_it_serves_the_openapi_document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "qfweb"


@pytest.mark.django_db
def test_it_gives_the_same_401_for_missing_malformed_and_unknown_keys(client):
    bodies = []
    for headers in ({}, bearer("nonsense"), bearer("qf_AAAAAAAA_" + "a" * 38)):
        response = client.get("/api/me", **headers)
        assert response.status_code == 401
        assert response["X-Request-ID"]
        body = response.json()["error"]
        bodies.append((body["code"], body["message"], body["field"]))
    assert len(set(bodies)) == 1


@pytest.mark.django_db
def test_it_tells_a_key_its_scopes(client, store):
    key = issue_key(personas=("scene_smith",), may_write=True)
    response = client.get("/api/me", **bearer(key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["personas"] == ["scene_smith"] and body["tasks"] == []
    assert body["may_write"] and not body["may_override"] and not body["is_staff"]


def test_every_middleware_is_async_capable(settings):
    """One sync middleware would put every async view in a thread of its own (STACK B1)."""
    from django.utils.module_loading import import_string

    sync_only = [m for m in settings.MIDDLEWARE if not getattr(import_string(m), "async_capable", False)]
    assert sync_only == []


def test_static_files_are_still_served(client, settings):
    response = client.get(settings.STATIC_URL + "admin/css/base.css")
    assert response.status_code == 200


async def test_static_files_stream_on_the_async_path_without_a_warning(settings, recwarn):
    """Through the ASGI application, as uvicorn calls it: the file is sent in chunks read
    off the loop, not read whole after Django's warning about a sync iterator."""
    from qfweb.asgi import application

    path = settings.STATIC_URL + "qfweb/vendor/chartjs/chart.umd.min.js"
    scope = {"type": "http", "method": "GET", "path": "/" + path.lstrip("/"), "raw_path": b"", "query_string": b"",
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1), "server": ("localhost", 80),
             "scheme": "http", "http_version": "1.1", "asgi": {"version": "3.0"}}
    sent, requests = [], [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client never leaves

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    assert sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert body.startswith(b"/*!") and len(body) > 100_000
    assert [str(w.message) for w in recwarn if "StreamingHttpResponse" in str(w.message)] == []


@pytest.mark.django_db
def test_an_unexpected_error_is_a_generic_500_with_the_request_id(client, store, settings, monkeypatch):
    """RELIABILITY.md required test 29, second half: no stack trace, no secret, DEBUG off."""
    import personas.api.generate

    def broken(**_):
        raise RuntimeError("database password is sk-live-abcdefghijklmnop")

    settings.DEBUG = False
    monkeypatch.setattr(personas.api.generate, "resolve_live", broken)
    key = issue_key(personas=("scene_smith",))
    response = client.get("/api/personas/scene_smith/resolve", **bearer(key))
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == response["X-Request-ID"]
    assert "Traceback" not in response.content.decode() and "sk-live" not in response.content.decode()
    assert "password" not in response.content.decode()


def test_the_docs_are_served_offline(client):
    """The app must work with no Internet: Swagger UI comes from our own static files."""
    import re

    response = client.get("/api/docs")
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.content.decode())
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources), sources


@pytest.mark.django_db
def test_a_body_over_the_size_cap_is_413_not_500(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    key = issue_key(all_personas=True)
    response = client.post("/api/generate", {"prompt": "x" * 4096}, content_type="application/json", **bearer(key))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    ("path", "shape"),
    [("/api/no/such/thing", "code"), ("/api/personas/x/nothing%0Ahere", "code"), ("/v1/embeddings", "type")],
)
def test_a_path_under_the_apis_that_names_nothing_is_a_json_404(client, path, shape):
    response = client.post(path, {}, content_type="application/json")
    assert response.status_code == 404
    assert shape in response.json()["error"]
