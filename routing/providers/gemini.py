"""Google Gemini API (generateContent / streamGenerateContent).
https://ai.google.dev/api/generate-content

The key goes only in the `x-goog-api-key` header, never in `?key=`: URLs end up in logs
and error messages (RELIABILITY.md, redaction rule 1).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

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
from routing.providers.failures import bad_response, clean, error_detail, event_error, status_error
from routing.providers.listing import PAGE_SIZE, Page, names, paged
from routing.providers.wire import Tally, count, finish, opt, parse_data, parse_json, sse_events

ROLES = {"user": "user", "assistant": "model"}
FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


class GeminiAdapter(Adapter):
    kind = "gemini"
    streams = True
    param_names = {  # all under generationConfig
        "temperature": "temperature",
        "max_tokens": "maxOutputTokens",
        "top_p": "topP",
        "top_k": "topK",
        "stop": "stopSequences",
        "seed": "seed",
        "presence_penalty": "presencePenalty",
        "frequency_penalty": "frequencyPenalty",
    }
    list_params = frozenset({"stop"})

    def headers(self, call: Call) -> dict[str, str]:
        return {"x-goog-api-key": call.secret} if call.secret else {}

    def url(self, call: Call, method: str) -> str:
        model = call.model.removeprefix("models/")
        return f"{self.base_url}/models/{quote(model, safe='-._~')}:{method}"

    def body(self, call: Call) -> dict[str, Any]:
        contents = [
            {"role": ROLES.get(m.role, "user"), "parts": [{"text": m.content}]}
            for m in call.messages
            if m.role != "system"
        ]
        body: dict[str, Any] = {"contents": contents}
        if call.system:
            body["systemInstruction"] = {"parts": [{"text": call.system}]}
        custom = self.custom_params(call)
        # Our parameters go in generationConfig; `custom` keys go to the top level (tools,
        # safetySettings), except a custom generationConfig, which is merged into ours.
        extra = custom.pop("generationConfig", None)
        config = {**self.mapped_params(call), **(extra if isinstance(extra, dict) else {})}
        if config:
            body["generationConfig"] = config
        body.update(custom)
        return body

    def generation(self, call: Call) -> Post:
        return Post(self.url(call, "generateContent"), self.body(call))

    async def probe(self, call: Call) -> frozenset[str] | None:
        """The model names of GET models (without their "models/" prefix), page after page.
        https://ai.google.dev/api/models#method:-models.list"""
        secret = self.secrets(call)

        async def page(token: str | None) -> Page:
            params: dict[str, Any] = {"pageSize": PAGE_SIZE}
            if token:
                params["pageToken"] = token
            response = await self.fetch(call, f"{self.base_url}/models", params=params)
            data = parse_json(response, secret)
            if not isinstance(data, dict):
                raise bad_response("listing reply is not an object", secret)
            # JSON from protobuf leaves empty fields out: no "models" is an empty page.
            found = names(data.get("models", []), "name", secret)
            following = data.get("nextPageToken")
            following = following if isinstance(following, str) and following else None
            return [name.removeprefix("models/") for name in found], bool(following), following

        return await paged(page)

    async def complete(self, call: Call) -> Completion:
        secret = self.secrets(call)
        post = self.generation(call)
        response = await self.send(call, post.url, json_body=post.body)
        data = parse_json(response, secret)
        if not opt(data, "candidates"):
            raise _no_candidates(data, secret)
        return Completion(
            text=_text(data),
            tokens_in=_tokens_in(data),
            tokens_out=_tokens_out(data),
            finish_reason=finish(opt(data, "candidates", 0, "finishReason"), FINISH),
            provider_request_id=opt(data, "responseId") or "",
        )

    async def stream(self, call: Call) -> AsyncIterator[StreamEvent]:
        secret = self.secrets(call)
        url = self.url(call, "streamGenerateContent")
        body = self.body(call)
        async with self.open_stream(call, url, json_body=body, params={"alt": "sse"}) as response:
            tally = Tally()
            async for event in sse_events(response, secret):
                if not event.data:
                    continue
                data = parse_data(event.data, secret)
                if opt(data, "error"):
                    raise event_error(opt(data, "error"), secret)
                if not opt(data, "candidates") and opt(data, "promptFeedback", "blockReason"):
                    raise _no_candidates(data, secret)
                if text := _text(data):
                    yield Delta(text)
                tally.provider_request_id = tally.provider_request_id or opt(data, "responseId")
                reason = finish(opt(data, "candidates", 0, "finishReason"), FINISH)
                if reason or opt(data, "usageMetadata"):
                    tally.finish_reason = reason or tally.finish_reason
                    if opt(data, "usageMetadata"):  # the last one seen is the total
                        tally.tokens_in, tally.tokens_out = _tokens_in(data), _tokens_out(data)
                    yield tally.info()
            # No end marker: the stream simply ends; it is whole only if it said why it ended.
            if tally.finish_reason is None:
                raise bad_response("stream ended early (no finishReason)", secret)

    def raise_for_response(self, response: httpx.Response, body: bytes, secret: Secrets) -> None:
        # A wrong key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID, not a 401.
        # https://ai.google.dev/gemini-api/docs/troubleshooting
        detail, param = error_detail(body)
        invalid_key = b"API_KEY_INVALID" in body or detail.startswith("API key not valid")
        category = Category.AUTH if response.status_code == 400 and invalid_key else None
        error = status_error(response, detail, secret, param=param, category=category)
        if error.category is Category.RATE_LIMITED and error.retry_after is None:
            # Gemini states the wait in the body, as google.rpc.RetryInfo {"retryDelay": "7s"}.
            # https://ai.google.dev/gemini-api/docs/rate-limits
            error.retry_after = _retry_delay(body)
        raise error


def _text(data: Any) -> str:
    """The answer's text; thought summaries (`thought: true`) are not part of it."""
    parts = opt(data, "candidates", 0, "content", "parts")
    if not isinstance(parts, list):
        return ""
    texts = (opt(p, "text") for p in parts if not opt(p, "thought"))
    return "".join(t for t in texts if isinstance(t, str))


def _tokens_in(data: Any) -> int | None:
    return count(opt(data, "usageMetadata", "promptTokenCount"))


def _tokens_out(data: Any) -> int | None:
    """Answer plus thinking tokens: both are billed as output."""
    answer = count(opt(data, "usageMetadata", "candidatesTokenCount"))
    thoughts = count(opt(data, "usageMetadata", "thoughtsTokenCount"))
    return None if answer is None and thoughts is None else (answer or 0) + (thoughts or 0)


def _retry_delay(body: bytes) -> float | None:
    try:
        details = opt(json.loads(body), "error", "details")
    except ValueError:
        return None
    for item in details if isinstance(details, list) else ():
        delay = opt(item, "retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(float(delay[:-1]), 0.0)
            except ValueError:
                pass
    return None


def _no_candidates(data: Any, secret: Secrets) -> ProviderError:
    """A blocked prompt gets no candidates, only promptFeedback.blockReason: a request
    the model will not answer, not a provider failure."""
    reason = opt(data, "promptFeedback", "blockReason")
    if reason:
        return ProviderError(Category.BAD_REQUEST, clean(f"prompt blocked: {reason}", secret))
    return bad_response("reply has no candidates", secret)
