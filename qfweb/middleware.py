"""Every response carries the id of its request (`X-Request-ID`), made here, never taken
from the client: the generation rows, logs and error bodies are found by it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Async-capable, so it adds no thread hop in front of the async API views (STACK B1)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.is_async:
            return self.__acall__(request)
        request.request_id = uuid.uuid4().hex
        return _tag(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = uuid.uuid4().hex
        return _tag(request, await self.get_response(request))


def _tag(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    response.setdefault(REQUEST_ID_HEADER, request.request_id)
    return response


def request_id_of(request: HttpRequest) -> str:
    """The request's id; requests built outside the middleware stack get one here."""
    if not hasattr(request, "request_id"):
        request.request_id = uuid.uuid4().hex
    return request.request_id
