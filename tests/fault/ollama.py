"""Ollama wire format: /api/chat streams NDJSON (one JSON object a line, the last with
`done: true` and the counts) unless the body says `"stream": false`; /api/tags lists models."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.fault.endpoint import Answer, Endpoint, Failure, Reply, StreamPlan, body_dict, json_reply
from tests.fault.httpio import Request

NDJSON = "application/x-ndjson"
DONE_REASONS = {"stop": "stop", "length": "length"}
CATALOGUE = ("llama3.2:latest", "qwen2.5:7b")


def created_at() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line(obj: dict) -> bytes:
    return json.dumps(obj).encode() + b"\n"


class OllamaEndpoint(Endpoint):
    stream_type = NDJSON
    garbage = b"{nope\n"

    def error(self, req: Request, failure: Failure) -> Reply:
        return json_reply({"error": failure.message}, failure.code)


def final(answer: Answer, content: str) -> dict:
    done = {
        "model": answer.model,
        "created_at": created_at(),
        "message": {"role": "assistant", "content": content},
        "done_reason": DONE_REASONS.get(answer.finish, answer.finish),
        "done": True,
        "total_duration": 250_000_000,
        "load_duration": 20_000_000,
    }
    if answer.usage:
        done |= {
            "prompt_eval_count": answer.tokens_in,
            "prompt_eval_duration": 30_000_000,
            "eval_count": answer.tokens_out,
            "eval_duration": 200_000_000,
        }
    return done


class Chat(OllamaEndpoint):
    def streams(self, req: Request) -> bool:
        return body_dict(req).get("stream", True) is not False

    def answer(self, req: Request, answer: Answer) -> Reply:
        return json_reply(final(answer, answer.text))

    def stream(self, req: Request, answer: Answer) -> StreamPlan:
        def piece(text: str) -> bytes:
            message = {"role": "assistant", "content": text}
            return line({"model": answer.model, "created_at": created_at(), "message": message,
                         "done": False})

        return StreamPlan(
            self.stream_type,
            prelude=[],
            content=[piece(text) for text in answer.pieces],
            ending=[line(final(answer, ""))],
        )

    def stream_error(self, req: Request, kind: str) -> bytes:
        return line({"error": f"upstream stream error: {kind}"})


class Tags(OllamaEndpoint):
    def answer(self, req: Request, answer: Answer) -> Reply:
        models = [
            {"name": name, "model": name, "modified_at": "2025-01-01T00:00:00Z",
             "size": 2_019_393_189, "digest": "a80c4f17acd5" * 5 + "abcd",
             "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B",
                         "quantization_level": "Q4_K_M"}}
            for name in answer.known_models or CATALOGUE
        ]
        return json_reply({"models": models})
