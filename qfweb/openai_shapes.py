"""OpenAI's wire shapes: errors, chat completions whole and as `chat.completion.chunk`
events (RELIABILITY.md, how the OpenAI SDK parses a stream)."""

from __future__ import annotations

import json
import time

from qfweb.problems import Problem, problem_of
from qfweb.sse import frame
from routing.engine import GenerationFailed, Result
from routing.providers.base import Delta
from routing.streaming import Finished, LiveStream

DONE = "data: [DONE]\n\n"
ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
# The gateway names what a client chose; here all of it is chosen through `model`.
MODEL_FIELDS = {"persona", "task", "override"}


def openai_error(problem: Problem) -> dict:
    if problem.code == "budget_exceeded":
        kind = "insufficient_quota"
    else:
        kind = ERROR_TYPES.get(problem.status, "api_error" if problem.status >= 500 else "invalid_request_error")
    field = "model" if problem.field in MODEL_FIELDS else problem.field
    return {"error": {"message": problem.message, "type": kind, "param": field, "code": problem.code}}


def completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}"


def usage_body(result: Result) -> dict:
    tokens_in, tokens_out = result.tokens_in or 0, result.tokens_out or 0
    return {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out}


def completion_body(result: Result) -> dict:
    return {
        "id": completion_id(result.request_id),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": result.served,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": result.output.text or "", "refusal": None},
            "finish_reason": result.output.finish_reason or "stop",
            "logprobs": None,
        }],
        "usage": usage_body(result),
        "system_fingerprint": None,
    }


class ChatChunks:
    """One stream's events: the first chunk carries the role; the last has the finish
    reason, then the usage chunk if the client asked (S5), then `[DONE]`, all in one write
    after the rows are stored (S7). A break is one `event: error` and no `[DONE]`, which
    the SDK raises as APIError (S2)."""

    def __init__(self, *, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.created = int(time.time())
        self.started = False

    def _chunk(self, stream: LiveStream, delta: dict, finish: str | None = None, **extra: object) -> str:
        body = {
            "id": completion_id(stream.request_id), "object": "chat.completion.chunk",
            "created": self.created, "model": stream.served,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return frame(json.dumps(body))

    def delta(self, stream: LiveStream, delta: Delta) -> str:
        content = {"content": delta.text}
        if not self.started:
            self.started = True
            content = {"role": "assistant", **content}
        return self._chunk(stream, content)

    def end(self, stream: LiveStream, event) -> str:
        if not isinstance(event, Finished):
            error = {"message": f"the upstream stream broke: {event.error.category}", "type": "api_error",
                     "param": None, "code": "upstream_stream_error"}
            return frame(json.dumps({"error": error}), event="error")
        result = event.result
        frames = [self._chunk(stream, {}, result.output.finish_reason or "stop")]
        if self.include_usage:
            usage = {
                "id": completion_id(stream.request_id), "object": "chat.completion.chunk",
                "created": self.created, "model": stream.served, "choices": [], "usage": usage_body(result),
            }
            frames.append(frame(json.dumps(usage)))
        return "".join(frames) + DONE

    def failure(self, failed: GenerationFailed) -> str:
        return frame(json.dumps(openai_error(problem_of(failed))), event="error")
