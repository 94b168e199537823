"""Generation for apps (issue 5, items 2 and 3): as a persona, for a task, or both; whole or
streamed; and the explanation of which models would serve, calling none."""

from __future__ import annotations

import base64
import json

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from personas.auth import async_api_auth
from personas.gateway import Ask, ajob_for
from personas.schemas.generation import (
    AskIn,
    GenerateIn,
    GenerationOut,
    PersonaAskIn,
    ResolutionOut,
    ResolveQuery,
)
from personas.selectors import access_profile
from qfweb.errors import QfError
from qfweb.middleware import request_id_of
from qfweb.problems import api_body, attempt_body, problem_of
from qfweb.schemas import errors
from qfweb.sse import SERVED_HEADER, frame, stream_response, warn
from routing.access import require_override, require_task_scope
from routing.engine import GenerationFailed, Result, generate
from routing.providers.base import Delta, Message
from routing.resolution import resolve_live
from routing.streaming import Finished, LiveStream

router = Router(tags=["generation"])
FAILURES = errors(400, 403, 404, 502, 503, 504)


@router.post("/personas/{slug}/generate", response={200: GenerationOut, **FAILURES}, auth=async_api_auth,
             summary="Generate as a persona")
async def persona_generate(request: HttpRequest, slug: str, payload: PersonaAskIn, response: HttpResponse):
    return await _run(request, _ask(payload, persona=slug, task=payload.task), payload.stream, response)


@router.post("/tasks/{name}/complete", response={200: GenerationOut, **FAILURES}, auth=async_api_auth,
             summary="Complete with the task's models")
async def task_complete(request: HttpRequest, name: str, payload: AskIn, response: HttpResponse):
    return await _run(request, _ask(payload, task=name), payload.stream, response)


@router.post("/generate", response={200: GenerationOut, **FAILURES}, auth=async_api_auth,
             summary="Generate for a persona and/or a task")
async def any_generate(request: HttpRequest, payload: GenerateIn, response: HttpResponse):
    return await _run(request, _ask(payload, persona=payload.persona, task=payload.task), payload.stream, response)


@router.get("/personas/{slug}/resolve", response={200: ResolutionOut, **errors(400, 403, 404)},
            summary="Explain which models would serve, calling none")
def persona_resolve(request: HttpRequest, slug: str, query: Query[ResolveQuery]):
    caller = request.auth
    profile = access_profile(caller, slug)
    if query.task:
        require_task_scope(caller, query.task)
    if query.override:
        require_override(caller)
    resolution = resolve_live(
        persona=profile, task=query.task, override=query.override,
        may_override=caller.may_override, input_tokens=query.input_tokens, explain_only=True,
    )
    return resolution.as_dict()


def _ask(payload: AskIn, *, persona: str | None = None, task: str | None = None) -> Ask:
    if payload.messages is not None and payload.prompt is not None:
        raise QfError("give a prompt or messages, not both", field="prompt")
    messages = tuple(Message(m.role, m.content) for m in payload.messages or ())
    if payload.prompt is not None:
        messages = (*messages, Message("user", payload.prompt))
    if payload.system is not None:
        messages = (Message("system", payload.system), *(m for m in messages if m.role != "system"))
    return Ask(
        messages=messages, persona=persona, task=task, params=payload.params,
        override=tuple(payload.override), strategy=payload.strategy,
    )


async def _run(request: HttpRequest, ask: Ask, stream: bool, response: HttpResponse):
    job = await ajob_for(request.auth, ask, request_id=request_id_of(request))
    if stream:
        return await stream_response(job, EVENTS)
    result = await generate(job)
    warn(response, result.warnings)
    response[SERVED_HEADER] = result.served
    response["X-QF-Served-Level"] = result.level
    return generation_body(result)


def generation_body(result: Result) -> dict:
    output = result.output
    return {
        "request_id": result.request_id,
        "status": result.status,
        "output": {
            "text": output.text,
            "mime_type": output.mime_type,
            "data_base64": None if output.data is None else base64.b64encode(output.data).decode(),
            "finish_reason": output.finish_reason,
        },
        "served": {"model": result.served, "provider": result.served.partition(":")[0], "level": result.level},
        "attempts": [attempt_body(a) for a in result.attempts],
        "usage": {
            "tokens_in": result.tokens_in, "tokens_out": result.tokens_out, "images": output.images,
            "characters": output.characters, "estimated": result.usage_estimated,
        },
        "cost": None if result.cost is None else f"{result.cost.normalize():f}",
        "latency_ms": result.latency_ms,
    }


class ApiEvents:
    """/api/ streams: `delta` events with text, then one `done` (the whole GenerationOut,
    without the text already sent) or one `error`."""

    def delta(self, stream: LiveStream, delta: Delta) -> str:
        return frame(json.dumps({"text": delta.text}), event="delta")

    def end(self, stream: LiveStream, event) -> str:
        body = generation_body(event.result)
        body["output"]["text"] = None
        if isinstance(event, Finished):
            return frame(json.dumps(body), event="done")
        error = {
            "code": "upstream_stream_error", "message": f"the stream broke: {event.error.category}",
            "field": None, "errors": [], "request_id": stream.request_id,
        }
        return frame(json.dumps({"error": error, "generation": body}), event="error")

    def failure(self, failed: GenerationFailed) -> str:
        return frame(json.dumps(api_body(problem_of(failed), failed.request_id)), event="error")


EVENTS = ApiEvents()
