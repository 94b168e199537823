"""The ASGI application: Django, plus the lifespan events Django does not handle, so the
pooled upstream clients of this worker close on shutdown (issue 4)."""
from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qfweb.settings")
django_application = get_asgi_application()


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        return await django_application(scope, receive, send)
    from routing.providers.clients import aclose_all

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await aclose_all()
            await send({"type": "lifespan.shutdown.complete"})
            return
