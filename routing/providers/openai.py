"""OpenAI-compatible chat completions: OpenAI itself and every server that copies its wire
format (vLLM, LM Studio, OpenRouter, xAI, Ollama's /v1 ...).
https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from routing.providers.adapter import Adapter, Post
from routing.providers.base import (
    Call,
    Category,
    Completion,
    Delta,
    ProviderError,
    Secrets,
    StreamEvent,
)
from routing.providers.failures import bad_response, error_detail, event_error, status_error
from routing.providers.listing import names
from routing.providers.wire import Tally, count, dig, opt, parse_data, parse_json, sse_events


class OpenAIAdapter(Adapter):
    kind = "openai"
    streams = True
    param_names = {
        "temperature": "temperature",
        # `max_tokens`, not OpenAI's newer `max_completion_tokens`: every compatible server
        # knows it. A model that wants the new name renames it in its param_map.
        "max_tokens": "max_tokens",
        "top_p": "top_p",
        "presence_penalty": "presence_penalty",
        "frequency_penalty": "frequency_penalty",
        "stop": "stop",
        "seed": "seed",
        "reasoning_effort": "reasoning_effort",
    }

    def body(self, call: Call) -> dict[str, Any]:
        messages = [{"role": m.role, "content": m.content} for m in call.messages]
        return {"model": call.model, "messages": messages, **self.provider_params(call)}

    def generation(self, call: Call) -> Post:
        return Post(f"{self.base_url}/chat/completions", self.body(call))

    async def probe(self, call: Call) -> frozenset[str] | None:
        return await list_models(self, call)

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        data = parse_json(response, secret)
        content = opt(dig(data, "choices", 0, "message", secret=secret), "content")
        return Completion(
            text=content if isinstance(content, str) else "",  # null with a refusal or tool call
            tokens_in=count(opt(data, "usage", "prompt_tokens")),
            tokens_out=count(opt(data, "usage", "completion_tokens")),
            finish_reason=opt(data, "choices", 0, "finish_reason"),
            provider_request_id=response.headers.get("x-request-id") or opt(data, "id") or "",
        )

    async def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        secret = self.secrets(call)
        # Usage comes only in a last chunk with `choices: []`, and only when asked for.
        body = {**self.body(call), "stream": True, "stream_options": {"include_usage": True}}
        url = f"{self.base_url}/chat/completions"
        async with self.open_stream(call, url, json_body=body) as response:
            tally = Tally(provider_request_id=response.headers.get("x-request-id"))
            async for event in sse_events(response, secret):
                if event.data.strip() == "[DONE]":
                    yield tally.info()
                    return
                if not event.data:
                    continue
                chunk = parse_data(event.data, secret)
                if event.event == "error" or opt(chunk, "error"):
                    # OpenRouter reports a failure after the 200 this way.
                    raise event_error(opt(chunk, "error") or chunk, secret)
                tally.provider_request_id = tally.provider_request_id or opt(chunk, "id")
                for choice in opt(chunk, "choices") or ():
                    if opt(choice, "index") not in (0, None):
                        continue
                    content = opt(choice, "delta", "content")
                    if content and isinstance(content, str):
                        yield Delta(content)
                    if finish := opt(choice, "finish_reason"):
                        tally.finish_reason = finish
                        yield tally.info()
                if usage := opt(chunk, "usage"):
                    tally.tokens_in = count(opt(usage, "prompt_tokens"))
                    tally.tokens_out = count(opt(usage, "completion_tokens"))
                    yield tally.info()
        raise bad_response("stream ended early (no [DONE])", secret)

    def raise_for_response(self, response: httpx.Response, body: bytes, secret: Secrets) -> None:
        # Servers that route many models (OpenRouter, LiteLLM) answer an unknown model with
        # 400 and code `model_not_found` rather than 404.
        # https://platform.openai.com/docs/guides/error-codes
        detail, param = error_detail(body)
        category = Category.UNKNOWN_MODEL if _error_code(body) == "model_not_found" else None
        raise status_error(response, detail, secret, param=param, category=category)


async def list_models(adapter: Adapter, call: Call) -> frozenset[str] | None:
    """The ids of GET /models, for every OpenAI-style kind. A compatible server without
    that endpoint (404, 405) is probed with a minimal generation instead.
    https://platform.openai.com/docs/api-reference/models/list"""
    try:
        response = await adapter.fetch(call, f"{adapter.base_url}/models")
    except ProviderError as error:
        if error.status not in (404, 405):
            raise
        await adapter.minimal_generation(call)
        return None
    secret = adapter.secrets(call)
    return frozenset(names(opt(parse_json(response, secret), "data"), "id", secret))


def _error_code(body: bytes) -> Any:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("code") if isinstance(error, dict) else None
