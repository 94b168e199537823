"""Django's ASGI handler, without the thread a request does not need.

Django gives every ASGI request a thread for its sync code (asgiref's ThreadSensitiveContext
starts it on the first sync_to_async call) and makes that call twice itself, whatever the
view: to send `request_started` and to close the response. A gateway request whose path is
all async (qfweb.middleware, the generation views) then pays a thread start and two hops for
nothing (issue 8's profile). Here both run inline unless the request already has its
thread: Django's receivers of those signals (reset_queries, close_old_connections,
close_caches) act on the calling thread's database connections, and the loop's thread has
none open (the ORM refuses to run on it), so inline they do what they would have done in a
thread made only for them.

`handle` is Django 5.2's with those two calls changed; `tests/qfweb/test_asgi_handler.py`
fails when Django's changes, so that a new release is read before it is trusted.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import SyncToAsync, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import asgi
from django.db import connections
from django.http import HttpResponseBase
from django.urls import set_script_prefix


def has_request_thread() -> bool:
    """Did sync code of this request run (so its thread may hold connections to close)?"""
    context = SyncToAsync.thread_sensitive_context.get(None)
    return context is not None and context in SyncToAsync.context_to_thread_executor


def inline_is_safe() -> bool:
    """May the signals' receivers run here, on the loop's thread? Not when the request has
    a thread of its own, nor when this thread holds an open connection: never so under a
    server, but in tests the loop runs on the test's own thread, whose connection is not
    the request's to close."""
    return not has_request_thread() and all(
        c.connection is None for c in connections.all(initialized_only=True)
    )


async def close_response(response: HttpResponseBase) -> None:
    """`response.close()` (which sends request_finished) inline when that is safe, else in
    the request's thread as Django does."""
    if inline_is_safe():
        response.close()
    else:
        await sync_to_async(response.close)()


class ASGIHandler(asgi.ASGIHandler):
    async def handle(self, scope, receive, send):  # noqa: ANN001, ANN201 (Django's signature)
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(asgi.get_script_prefix(scope))
        # Changed: Django awaits request_started.asend, which hops to a new thread for its
        # sync receivers; they have nothing to do there.
        if inline_is_safe():
            signals.request_started.send(sender=self.__class__, scope=scope)
        else:
            await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await close_response(error_response)  # changed
            return

        async def process_request(request, send):  # noqa: ANN001, ANN202
            response = await self.run_get_response(request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass
            return response

        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            await close_response(response)  # changed
        body_file.close()
