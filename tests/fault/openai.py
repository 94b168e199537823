"""OpenAI wire format: chat completions (JSON and SSE ending in `data: [DONE]`) and models."""
from __future__ import annotations

import time

from tests.fault.endpoint import (
    Answer,
    Endpoint,
    Failure,
    Reply,
    StreamPlan,
    body_dict,
    json_reply,
    random_id,
    sse,
)
from tests.fault.httpio import Request

# (error.type, error.code) as OpenAI sends them for each status.
ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
CATALOGUE = ("gpt-4o", "gpt-4o-mini")


class OpenAIEndpoint(Endpoint):
    def headers(self) -> dict[str, str]:
        return {"x-request-id": "req_" + random_id(32, "0123456789abcdef")}

    def error(self, req: Request, failure: Failure) -> Reply:
        kind, code = ERRORS.get(failure.code, ("server_error", None))
        error = {"message": failure.message, "type": kind, "param": failure.param, "code": code}
        return json_reply({"error": error}, failure.code)


def usage_of(answer: Answer) -> dict:
    return {
        "prompt_tokens": answer.tokens_in,
        "completion_tokens": answer.tokens_out,
        "total_tokens": answer.tokens_in + answer.tokens_out,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class Chat(OpenAIEndpoint):
    def streams(self, req: Request) -> bool:
        return body_dict(req).get("stream") is True

    def answer(self, req: Request, answer: Answer) -> Reply:
        message = {"role": "assistant", "content": answer.text, "refusal": None, "annotations": []}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish}
        completion = {
            "id": "chatcmpl-" + random_id(29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": answer.model,
            "choices": [choice],
            "service_tier": "default",
            "system_fingerprint": "fp_fault",
        }
        if answer.usage:
            completion["usage"] = usage_of(answer)
        return json_reply(completion)

    def stream(self, req: Request, answer: Answer) -> StreamPlan:
        options = body_dict(req).get("stream_options") or {}
        with_usage = bool(options.get("include_usage")) and answer.usage
        base = {
            "id": "chatcmpl-" + random_id(29),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": answer.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fault",
        }

        def chunk(delta: dict | None, finish: str | None = None, **extra) -> bytes:
            choices = [] if delta is None else [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            ]
            # With include_usage every chunk carries "usage": null until the last one.
            usage = {"usage": None} if with_usage else {}
            return sse({**base, "choices": choices, **usage, **extra})

        ending = [chunk({}, answer.finish)]
        if with_usage:
            ending.append(chunk(None, usage=usage_of(answer)))
        ending.append(b"data: [DONE]\n\n")
        return StreamPlan(
            self.stream_type,
            # The real API opens with the role and empty content before any text.
            prelude=[chunk({"role": "assistant", "content": "", "refusal": None})],
            content=[chunk({"content": piece}) for piece in answer.pieces],
            ending=ending,
        )

    def stream_error(self, req: Request, kind: str) -> bytes:
        error = {"message": f"upstream stream error: {kind}", "type": kind, "param": None,
                 "code": kind}
        return sse({"error": error})


class Models(OpenAIEndpoint):
    def answer(self, req: Request, answer: Answer) -> Reply:
        names = answer.known_models or CATALOGUE
        data = [
            {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
            for name in names
        ]
        return json_reply({"object": "list", "data": data})
