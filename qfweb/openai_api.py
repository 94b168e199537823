"""The OpenAI-compatible API under /v1/ (issue 5, item 6; STYLE B-10): an app points the
stock `openai` SDK's base URL here and uses its qfweb key as the API key.

`model` says what runs: `persona:<slug>`, `task:<name>`, or a `provider:model` handle (or a
provider name) for keys that may choose models. The same checks as /api/ apply
(`personas.gateway`), and the same errors, in OpenAI's shape: `{"error": {"message",
"type", "param", "code"}}`, with `x-request-id` on every response, which the SDK reads.
"""

from __future__ import annotations

import base64
import time

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from personas.auth import async_api_auth
from personas.gateway import Ask, ajob_for
from personas.profiles import profiles_all
from qfweb.errors import NotFound
from qfweb.middleware import request_id_of
from qfweb.openai_schemas import ChatCompletionIn, ImageIn, ModelListOut, ModelOut, SpeechIn
from qfweb.openai_shapes import ChatChunks, completion_body, openai_error
from qfweb.problems import RENDERED, problem_of
from qfweb.sse import stream_response, warn
from routing.access import Caller
from routing.engine import generate
from routing.providers.base import Message
from routing.snapshot import config_current, snapshot_get

openai_api = NinjaAPI(
    title="qfweb, OpenAI-compatible",
    version="1",
    description="Chat completions, images, speech and models, for the stock openai SDK.",
    urls_namespace="openai",
    auth=async_api_auth,
    docs_url="/docs",
    openapi_url="/openapi.json",
)
def on_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    problem = problem_of(exc)
    # OpenAI answers a request it cannot use with 400; the SDK raises BadRequestError.
    status = 400 if problem.status == 422 else problem.status
    response = openai_api.create_response(request, openai_error(problem), status=status)
    for name, value in problem.headers.items():
        response[name] = value
    return response


for _error in RENDERED:
    openai_api.add_exception_handler(_error, on_error)


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """A path under /v1/ that qfweb does not serve: an OpenAI-shaped 404."""
    return on_error(request, NotFound("qfweb does not serve this endpoint", code="unknown_url"))


def _ask(model: str, messages: tuple[Message, ...], params: dict, modality: str | None = None) -> Ask:
    kind, _, name = model.partition(":")
    if kind == "persona" and name:
        return Ask(messages=messages, persona=name, params=params, modality=modality)
    if kind == "task" and name:
        return Ask(messages=messages, task=name, params=params, modality=modality)
    return Ask(messages=messages, override=(model,), params=params, modality=modality)


async def _job(request: HttpRequest, ask: Ask):
    return await ajob_for(request.auth, ask, request_id=request_id_of(request))


@openai_api.post("/chat/completions", summary="Create a chat completion (stream: server-sent events)")
async def chat_completions(request: HttpRequest, payload: ChatCompletionIn, response: HttpResponse):
    messages = tuple(Message("system" if m.role == "developer" else m.role, m.text()) for m in payload.messages)
    job = await _job(request, _ask(payload.model, messages, payload.params()))
    if payload.stream:
        include_usage = bool(payload.stream_options and payload.stream_options.include_usage)
        return await stream_response(job, ChatChunks(include_usage=include_usage))
    result = await generate(job)
    warn(response, result.warnings)
    return completion_body(result)


@openai_api.post("/images/generations", summary="Create an image")
async def images_generations(request: HttpRequest, payload: ImageIn, response: HttpResponse):
    ask = _ask(payload.model, (Message("user", payload.prompt),), payload.params(), modality="image")
    result = await generate(await _job(request, ask))
    warn(response, result.warnings)
    output = result.output
    encoded = base64.b64encode(output.data or b"").decode()
    item = {"url": f"data:{output.mime_type};base64,{encoded}"} if payload.response_format == "url" else {"b64_json": encoded}
    return {"created": int(time.time()), "data": [item]}


@openai_api.post("/audio/speech", summary="Turn text into speech (the audio bytes)")
async def audio_speech(request: HttpRequest, payload: SpeechIn):
    ask = _ask(payload.model, (Message("user", payload.input),), payload.params(), modality="audio")
    result = await generate(await _job(request, ask))
    audio = HttpResponse(result.output.data or b"", content_type=result.output.mime_type)
    warn(audio, result.warnings)
    return audio


@openai_api.get("/models", response=ModelListOut, summary="The personas, tasks and models this key may use")
async def models_list(request: HttpRequest):
    await config_current()  # then the list is read from memory, on the loop
    return {"object": "list", "data": visible_models(request.auth)}


@openai_api.get("/models/{path:model}", response=ModelOut, summary="One of them")
async def models_retrieve(request: HttpRequest, model: str):
    await config_current()
    for item in visible_models(request.auth):
        if item["id"] == model:
            return item
    raise NotFound(f"unknown model {model!r}", field="model", code="model_not_found")


def visible_models(caller: Caller) -> list[dict]:
    """What this caller may name as `model`: its personas and tasks, and the enabled models
    when it may choose models."""
    snapshot = snapshot_get()
    items = [
        {"id": f"persona:{slug}", "object": "model", "created": 0, "owned_by": "qfweb"}
        for slug, profile in sorted(profiles_all().items())
        if profile.is_enabled and caller.sees_persona(slug)
    ]
    items += [
        {"id": f"task:{name}", "object": "model", "created": 0, "owned_by": "qfweb"}
        for name in sorted(snapshot.tasks) if caller.sees_task(name)
    ]
    if caller.may_override:
        items += [
            {"id": handle, "object": "model", "created": 0, "owned_by": model.provider}
            for handle, model in sorted(snapshot.models.items())
            if model.is_enabled and snapshot.providers[model.provider].is_enabled
        ]
    return items
