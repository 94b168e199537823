"""Anthropic Messages API.
https://docs.anthropic.com/en/api/messages and, for streams,
https://docs.anthropic.com/en/docs/build-with-claude/streaming
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from routing.providers.adapter import Adapter, Post
from routing.providers.base import Call, Completion, Delta, StreamEvent
from routing.providers.failures import bad_response, event_error
from routing.providers.listing import PAGE_SIZE, Page, names, paged
from routing.providers.wire import (
    Tally,
    count,
    dig,
    finish,
    opt,
    parse_data,
    parse_json,
    sse_events,
)

# The API requires max_tokens and has no default of its own; a call that does not set it
# gets a bound large enough for a normal answer and small enough not to run up a bill.
DEFAULT_MAX_TOKENS = 1024
API_VERSION = "2023-06-01"  # https://docs.anthropic.com/en/api/versioning
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class AnthropicAdapter(Adapter):
    kind = "anthropic"
    streams = True
    param_names = {
        "max_tokens": "max_tokens",
        "temperature": "temperature",
        "top_p": "top_p",
        "top_k": "top_k",
        "stop": "stop_sequences",
    }
    list_params = frozenset({"stop"})

    def headers(self, call: Call) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if call.secret:
            headers["x-api-key"] = call.secret
        return headers

    def body(self, call: Call) -> dict[str, Any]:
        body: dict[str, Any] = {"model": call.model, "messages": call.chat()}
        if call.system:
            body["system"] = call.system
        body.update(self.provider_params(call))
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        return body

    def generation(self, call: Call) -> Post:
        return Post(f"{self.base_url}/v1/messages", self.body(call))

    async def probe(self, call: Call) -> frozenset[str] | None:
        """The ids of GET /v1/models, page after page.
        https://docs.anthropic.com/en/api/models-list"""
        secret = self.secrets(call)

        async def page(after: str | None) -> Page:
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if after:
                params["after_id"] = after
            response = await self.fetch(call, f"{self.base_url}/v1/models", params=params)
            data = parse_json(response, secret)
            last = opt(data, "last_id")
            following = last if isinstance(last, str) else None
            return names(opt(data, "data"), "id", secret), opt(data, "has_more") is True, following

        return await paged(page)

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        data = parse_json(response, secret)
        blocks = dig(data, "content", secret=secret)
        if not isinstance(blocks, list):
            raise bad_response("reply content is not a list", secret)
        texts = (opt(b, "text") for b in blocks if opt(b, "type") == "text")
        text = "".join(t for t in texts if isinstance(t, str))
        return Completion(
            text=text,
            tokens_in=_tokens_in(opt(data, "usage")),
            tokens_out=_tokens_out(opt(data, "usage")),
            finish_reason=finish(opt(data, "stop_reason"), FINISH),
            provider_request_id=response.headers.get("request-id") or opt(data, "id") or "",
        )

    async def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        secret = self.secrets(call)
        body = {**self.body(call), "stream": True}
        url = f"{self.base_url}/v1/messages"
        async with self.open_stream(call, url, json_body=body) as response:
            tally = Tally(provider_request_id=response.headers.get("request-id"))
            async for event in sse_events(response, secret):
                if not event.data:
                    continue
                data = parse_data(event.data, secret)
                kind = opt(data, "type") or event.event
                if kind == "content_block_delta":
                    delta = opt(data, "delta")
                    text = opt(delta, "text") if opt(delta, "type") == "text_delta" else None
                    if text and isinstance(text, str):
                        yield Delta(text)
                elif kind == "message_start":
                    message = opt(data, "message")
                    tally.provider_request_id = tally.provider_request_id or opt(message, "id")
                    # Its output_tokens is a placeholder; message_delta brings the real count.
                    tally.tokens_in = _tokens_in(opt(message, "usage"))
                    yield tally.info()
                elif kind == "message_delta":
                    usage = opt(data, "usage")
                    tally.tokens_in = _tokens_in(usage) or tally.tokens_in  # newer APIs repeat it
                    tally.tokens_out = _tokens_out(usage)  # cumulative
                    tally.finish_reason = finish(opt(data, "delta", "stop_reason"), FINISH)
                    yield tally.info()
                elif kind == "message_stop":
                    yield tally.info()
                    return
                elif kind == "error":  # overloaded or failed after the 200
                    raise event_error(opt(data, "error") or data, secret)
        raise bad_response("stream ended early (no message_stop)", secret)


def _tokens_in(usage: Any) -> int | None:
    """All prompt tokens: Anthropic counts cached ones apart from `input_tokens`, OpenAI's
    prompt_tokens includes them; qfweb reports them the OpenAI way. Zero means not counted
    (compatible servers send zeros; a real prompt has at least one token)."""
    parts = [
        count(opt(usage, key))
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    return sum(p for p in parts if p) or None


def _tokens_out(usage: Any) -> int | None:
    return count(opt(usage, "output_tokens")) or None  # zero: not counted, as above
