"""Anthropic Messages wire format: a Message, or SSE with `event:` lines in the documented order
(message_start, content_block_start, ping, content_block_delta..., content_block_stop,
message_delta, message_stop)."""
from __future__ import annotations

from tests.fault.endpoint import (
    Answer, Endpoint, Failure, Reply, StreamPlan, body_dict, json_reply, page_size, random_id, sse,
)
from tests.fault.httpio import Request

ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
CATALOGUE = ("claude-sonnet-4-5", "claude-haiku-4-5")


class AnthropicEndpoint(Endpoint):
    def headers(self) -> dict[str, str]:
        return {"request-id": "req_011C" + random_id(20)}

    def error(self, req: Request, failure: Failure) -> Reply:
        kind = ERRORS.get(failure.code, "api_error")
        body = {
            "type": "error",
            "error": {"type": kind, "message": failure.message},
            "request_id": "req_011C" + random_id(20),
        }
        return json_reply(body, failure.code)


def message(answer: Answer, content: list, stop_reason: str | None, output_tokens: int) -> dict:
    # The SDK types require usage with both counts, so usage=False gives zeros, not no field.
    return {
        "id": "msg_01" + random_id(22),
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": answer.tokens_in if answer.usage else 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens if answer.usage else 0,
            "service_tier": "standard",
        },
    }


class Messages(AnthropicEndpoint):
    def streams(self, req: Request) -> bool:
        return body_dict(req).get("stream") is True

    def answer(self, req: Request, answer: Answer) -> Reply:
        stop = STOP_REASONS.get(answer.finish, answer.finish)
        content = [{"type": "text", "text": answer.text}]
        return json_reply(message(answer, content, stop, answer.tokens_out))

    def stream(self, req: Request, answer: Answer) -> StreamPlan:
        start = {"type": "message_start", "message": message(answer, [], None, 1)}
        block = {"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}}
        delta = {"stop_reason": STOP_REASONS.get(answer.finish, answer.finish),
                 "stop_sequence": None}
        # message_delta's output_tokens is cumulative: the final count for the whole message.
        usage = {"output_tokens": answer.tokens_out if answer.usage else 0}
        return StreamPlan(
            self.stream_type,
            prelude=[
                sse(start, "message_start"),
                sse(block, "content_block_start"),
                sse({"type": "ping"}, "ping"),
            ],
            content=[
                sse({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
                for piece in answer.pieces
            ],
            ending=[
                sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                sse({"type": "message_delta", "delta": delta, "usage": usage}, "message_delta"),
                sse({"type": "message_stop"}, "message_stop"),
            ],
        )

    def stream_error(self, req: Request, kind: str) -> bytes:
        text = "Overloaded" if kind == "overloaded_error" else f"upstream stream error: {kind}"
        return sse({"type": "error", "error": {"type": kind, "message": text}}, "error")


class Models(AnthropicEndpoint):
    """GET /v1/models as Anthropic answers it (told apart from OpenAI's by its headers): a
    page of `limit` models (20 unless asked, at most 1000) after the id `after_id`."""

    def answer(self, req: Request, answer: Answer) -> Reply:
        names = list(answer.known_models or CATALOGUE)
        after = req.query.get("after_id") or None
        if after is not None and after not in names:
            return self.error(req, Failure(400, f"after_id: no model {after!r}"))
        start = names.index(after) + 1 if after else 0
        end = start + page_size(req, answer, "limit", 20)
        page = names[start:end]
        data = [
            {"type": "model", "id": name, "display_name": name,
             "created_at": "2025-01-01T00:00:00Z", "lifecycle": "active",
             "max_input_tokens": 200_000, "max_tokens": 64_000}
            for name in page
        ]
        return json_reply({
            "data": data,
            "has_more": end < len(names),
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        })
