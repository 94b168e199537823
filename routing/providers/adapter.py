"""The Adapter base class: one wire API. It maps our parameter names to the provider's,
adds the credential, and sends the request through `send`, `fetch` or `open_stream`, which
refuse redirects, cap the reply and raise a classified ProviderError for any failure. Its
`probe` is a health check's cheapest call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import httpx

from routing.providers.base import Call, Category, Completion, ProviderError, Secrets, StreamEvent
from routing.providers.failures import clean, error_detail, status_error, transport_error
from routing.providers.wire import read_capped

# The output cap of a probe's generation: modest, not a tiny one some reasoning models
# reject; one that spends it all thinking still answers 2xx, which is all a probe looks at.
PROBE_MAX_TOKENS = 16


@dataclass(frozen=True, slots=True)
class Post:
    """One generation request as `complete` sends it."""

    url: str
    body: Any
    params: Mapping[str, str] | None = None


class Adapter:
    """One wire API. Subclasses set `kind`, `param_names`, and implement `complete` (and
    `stream` for text APIs; `generation` and `probe` for health checks); they use `send` /
    `fetch` / `open_stream`, which classify failures."""

    kind: ClassVar[str]
    streams: ClassVar[bool] = False
    # Our parameter name -> the provider's; parameters missing here are not sent unless the
    # model's `param_map` names them (source document 001, parameter mapping).
    param_names: ClassVar[Mapping[str, str]] = {}
    # Parameters the provider takes only as a list: a single string is sent as [string].
    list_params: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    async def complete(self, call: Call) -> Completion:
        raise NotImplementedError

    def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError(f"{self.kind} does not stream")

    def generation(self, call: Call) -> Post:
        """The request `complete` sends for `call`; the default probe sends it too."""
        raise NotImplementedError(f"{self.kind} has no plain generation request")

    async def probe(self, call: Call) -> frozenset[str] | None:
        """The cheapest request that proves the provider answers and accepts the credential.
        Returns the names of the models it lists (comparable with our Model.name), or None
        when this API's listing cannot be compared with configured names (or it has none).
        Failures raise ProviderError as for generations. This default makes a minimal
        generation; kinds with a listing override it."""
        await self.minimal_generation(call)
        return None

    async def minimal_generation(self, call: Call) -> None:
        """A short generation whose reply is judged by its status alone: any 2xx is healthy
        whatever the body holds (an empty answer, finish "length" from a reasoning model),
        and so is a 400/422: the service parsed the request and accepted the key."""
        capped = replace(call, params={"max_tokens": PROBE_MAX_TOKENS, **call.params})
        post = self.generation(capped)
        try:
            await self.send(call, post.url, json_body=post.body, params=post.params)
        except ProviderError as error:
            if error.status not in (400, 422) or error.category is not Category.BAD_REQUEST:
                raise

    # ---- shared helpers ------------------------------------------------------------

    def provider_params(self, call: Call) -> dict[str, Any]:
        """The call's parameters under the provider's names; `custom` is merged as it is."""
        return {**self.mapped_params(call), **self.custom_params(call)}

    def mapped_params(self, call: Call) -> dict[str, Any]:
        """The call's parameters under the provider's names, without `custom`."""
        out: dict[str, Any] = {}
        for name, value in call.params.items():
            if name == "custom":
                continue
            target = call.param_map.get(name) or self.param_names.get(name)
            if target:
                listed = name in self.list_params and isinstance(value, str)
                out[target] = [value] if listed else value
        return out

    def custom_params(self, call: Call) -> dict[str, Any]:
        """Provider-specific extras, sent as they are."""
        return dict(call.params.get("custom") or {})

    def headers(self, call: Call) -> dict[str, str]:
        """Authentication and other headers for this call."""
        return {"Authorization": f"Bearer {call.secret}"} if call.secret else {}

    def secrets(self, call: Call) -> tuple[str, ...]:
        """Every form of the credential the request carries, scrubbed from error texts."""
        return (call.secret,) if call.secret else ()

    def _request(
        self, call: Call, method: str, url: str, json_body: Any, params: Any
    ) -> httpx.Request:
        try:
            request = self.client.build_request(
                method, url, json=json_body, params=params, headers=self.headers(call),
                timeout=call.timeout,
            )
        except httpx.InvalidURL as exc:
            text = clean(f"invalid URL: {exc}", self.secrets(call))
            raise ProviderError(Category.REFUSED, text, connect=True) from None
        if not 0 < (request.url.port or 80) < 65536:  # else the socket layer raises, unclassified
            raise ProviderError(Category.REFUSED, f"invalid port {request.url.port}", connect=True)
        return request

    async def send(
        self, call: Call, url: str, *, json_body: Any, params: Any = None
    ) -> httpx.Response:
        """POST and read the whole reply; raises ProviderError for any failure, including
        a redirect, which is never followed (RELIABILITY.md, SSRF 3)."""
        return await self._exchange(call, "POST", url, json_body, params)

    async def fetch(self, call: Call, url: str, *, params: Any = None) -> httpx.Response:
        """GET and read the whole reply, with `send`'s guarantees (listings, for probes)."""
        return await self._exchange(call, "GET", url, None, params)

    def open_stream(
        self, call: Call, url: str, *, json_body: Any, params: Any = None
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """POST and yield the response with its body unread; an error status is raised
        before anything is yielded. Closing the context closes the upstream connection."""
        return self._open(call, "POST", url, json_body, params)

    async def _exchange(
        self, call: Call, method: str, url: str, json_body: Any, params: Any
    ) -> httpx.Response:
        async with self._open(call, method, url, json_body, params) as response:
            try:
                await read_capped(response)
            except httpx.HTTPError as exc:
                raise transport_error(exc, self.secrets(call), reading=True) from None
        return response

    @asynccontextmanager
    async def _open(
        self, call: Call, method: str, url: str, json_body: Any, params: Any
    ) -> AsyncIterator[httpx.Response]:
        secrets = self.secrets(call)
        request = self._request(call, method, url, json_body, params)
        try:
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise transport_error(exc, secrets) from None
        try:
            if response.status_code >= 300:
                try:
                    body = await read_capped(response)
                except httpx.HTTPError as exc:
                    raise transport_error(exc, secrets, reading=True) from None
                self.raise_for_response(response, body, secrets)
            yield response
        finally:
            await response.aclose()

    def raise_for_response(self, response: httpx.Response, body: bytes, secret: Secrets) -> None:
        """Raise the ProviderError an error status means. Subclasses override for quirks
        (link the provider's doc in a comment)."""
        detail, param = error_detail(body)
        raise status_error(response, detail, secret, param=param)
