"""Gemini (generativelanguage v1beta) wire format: GenerateContentResponse as JSON, as SSE with
`alt=sse`, or as one JSON array (what streamGenerateContent sends without `alt=sse`)."""
from __future__ import annotations

import json

from tests.fault.endpoint import (
    Answer, Endpoint, Failure, Reply, StreamPlan, json_reply, page_size, random_id, sse,
)
from tests.fault.httpio import Request

STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
# Anthropic's mid-stream error names (the vocabulary of stream(error_event=...)) as Gemini codes.
STREAM_ERRORS = {"overloaded_error": 503, "rate_limit_error": 429, "api_error": 500}
CATALOGUE = ("gemini-2.5-flash", "gemini-2.5-pro")


def error_body(code: int, message: str, retry_after=None) -> dict:
    error = {"code": code, "message": message, "status": STATUSES.get(code, "UNKNOWN")}
    if isinstance(retry_after, int | float):
        # Gemini states the wait in the body too, as google.rpc.RetryInfo.
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                             "retryDelay": f"{retry_after:g}s"}]
    return {"error": error}


class GeminiEndpoint(Endpoint):
    def model(self, req: Request) -> str | None:
        return req.params.get("model")

    def error(self, req: Request, failure: Failure) -> Reply:
        return json_reply(error_body(failure.code, failure.message, failure.retry_after),
                          failure.code)


def response(answer: Answer, text: str, finish: bool) -> dict:
    candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = FINISH_REASONS.get(answer.finish, answer.finish.upper())
    body = {"candidates": [candidate]}
    if finish and answer.usage:
        body["usageMetadata"] = {
            "promptTokenCount": answer.tokens_in,
            "candidatesTokenCount": answer.tokens_out,
            "totalTokenCount": answer.tokens_in + answer.tokens_out,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.tokens_in}],
        }
    body["modelVersion"] = answer.model
    body["responseId"] = random_id(22)
    return body


class GenerateContent(GeminiEndpoint):
    def answer(self, req: Request, answer: Answer) -> Reply:
        return json_reply(response(answer, answer.text, finish=True))


class StreamGenerateContent(GeminiEndpoint):
    def streams(self, req: Request) -> bool:
        return req.query.get("alt") == "sse"

    def stream(self, req: Request, answer: Answer) -> StreamPlan:
        return StreamPlan(
            self.stream_type,
            prelude=[],
            content=[sse(response(answer, piece, finish=False)) for piece in answer.pieces],
            # The last event closes the candidate and carries usageMetadata.
            ending=[sse(response(answer, "", finish=True))],
        )

    def answer(self, req: Request, answer: Answer) -> Reply:
        # Without alt=sse the same responses arrive as one JSON array.
        items = [response(answer, piece, finish=False) for piece in answer.pieces]
        items.append(response(answer, "", finish=True))
        return Reply(200, json.dumps(items).encode())

    def stream_error(self, req: Request, kind: str) -> bytes:
        code = STREAM_ERRORS.get(kind, 500)
        return sse(error_body(code, f"upstream stream error: {kind}"))


PAGE_TOKEN = "fault-page-"


class Models(GeminiEndpoint):
    """GET models: a page of `pageSize` models (50 unless asked, at most 1000) from
    `pageToken`, with a `nextPageToken` while more follow."""

    def answer(self, req: Request, answer: Answer) -> Reply:
        names = answer.known_models or CATALOGUE
        token = req.query.get("pageToken") or ""
        offset = token.removeprefix(PAGE_TOKEN)
        if token and not (token.startswith(PAGE_TOKEN) and offset.isdigit()):
            return self.error(req, Failure(400, "Invalid page token."))
        start = int(offset or 0)
        end = start + page_size(req, answer, "pageSize", 50)
        models = [
            {"name": f"models/{name}", "version": "001", "displayName": name,
             "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
             "supportedGenerationMethods": ["generateContent", "countTokens"]}
            for name in names[start:end]
        ]
        body: dict = {"models": models}
        if end < len(names):
            body["nextPageToken"] = f"{PAGE_TOKEN}{end}"
        return json_reply(body)
