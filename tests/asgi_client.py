"""Requests through qfweb.asgi.application, in this test's event loop, as an ASGI server
would send them (not through Django's test client, whose handler is not ours), and a record
of the thread hops they make."""

from __future__ import annotations

import httpx
import pytest
from asgiref.sync import SyncToAsync


def asgi_client() -> httpx.AsyncClient:
    """An httpx client whose requests go straight to the ASGI application (cookies kept)."""
    from qfweb.asgi import application

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://localhost")


def record_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions sent to a thread by sync_to_async from a request's own
    context (the one Django's ASGIHandler opens per request); hops of tasks that run in a
    context of their own, as the usage writer does, are not the request's."""
    hops: list[str] = []
    call = SyncToAsync.__call__

    async def recorded(self: SyncToAsync, *args: object, **kwargs: object) -> object:
        if SyncToAsync.thread_sensitive_context.get(None) is not None:
            hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await call(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", recorded)
    return hops
