"""The ASGI application: Django (through qfweb.asgi_handler), plus the lifespan events
Django does not handle: on shutdown each worker writes the usage rows still queued and
closes its pooled upstream clients (issue 4)."""
from __future__ import annotations

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qfweb.settings")
django.setup(set_prefix=False)

from qfweb.asgi_handler import ASGIHandler  # noqa: E402 (after setup, as get_asgi_application)

django_application = ASGIHandler()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        return await django_application(scope, receive, send)
    from routing.providers.clients import aclose_all
    from routing.recording import drain

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await drain()
            await aclose_all()
            await send({"type": "lifespan.shutdown.complete"})
            return
