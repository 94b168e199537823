"""A client's generation request, checked and turned into an engine `Job` (RELIABILITY.md,
OWASP API1 and API4). Both APIs (/api/ and /v1/) come through here, so the checks are the
same everywhere, and all of them happen before any provider is called:

1. scope: the persona and the task must be in the key's scope (403 naming which), an
   override and `params.custom` need the override scope (403), and an override may name
   only configured, enabled models (never a URL, RELIABILITY.md SSRF control 1);
2. the key's request rate (429 with Retry-After);
3. the key's monthly budget, which the engine checks with the persona's (429 with
   `x-should-retry: false`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from personas.selectors import access_profile_for_run
from qfweb.errors import Forbidden, NotFound, QfError, RateLimited
from routing import ratelimit
from routing.access import Caller, require_override, require_task_scope
from routing.budget import Budget
from routing.engine import Job
from routing.pricing import estimate_tokens
from routing.providers.base import Message
from routing.resolution import AUTO_TASK, resolve_live, unusable_override
from routing.snapshot import config_current, snapshot_get

MAX_MESSAGES = 500  # with DATA_UPLOAD_MAX_MEMORY_SIZE, the cap on what one request may carry


@dataclass(frozen=True, slots=True)
class Ask:
    """What a client asked for, whatever the interface."""

    messages: tuple[Message, ...]
    persona: str | None = None
    task: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    override: tuple[str, ...] = ()
    strategy: str | None = None
    modality: str | None = None


async def ajob_for(caller: Caller, ask: Ask, *, request_id: str) -> Job:
    """job_for for async views: once the cached configuration is current (built off the
    loop if it was not), the checks read memory and the shared cache only."""
    await config_current()
    return job_for(caller, ask, request_id=request_id)


def job_for(caller: Caller, ask: Ask, *, request_id: str) -> Job:
    """The checked Job, or a QfError; this reads the (cached) configuration."""
    _check_messages(ask.messages)
    profile = access_profile_for_run(caller, ask.persona) if ask.persona else None
    if ask.task:
        _check_task(caller, ask.task)
    if ask.override:
        require_override(caller)
    if "custom" in ask.params and not caller.may_override:
        # custom goes upstream as it is: it could name another model or replace the messages.
        raise Forbidden("params.custom needs a key with the override scope", field="params.custom")
    if profile is None and not ask.task and not ask.override:
        raise QfError("name a persona, a task or a model", field="persona")
    job = Job(
        messages=ask.messages, persona=profile, task=ask.task, params=dict(ask.params),
        override=ask.override, may_override=caller.may_override, modality=ask.modality,
        strategy=ask.strategy, api_key_id=caller.key_id, request_id=request_id,
        budgets=_budgets_of(caller),
    )
    if ask.override:
        _check_override(job)
    if caller.key_id is not None:
        if wait := ratelimit.take(f"key:{caller.key_id}", caller.rate_limit_rpm):
            raise RateLimited(
                f"this key's limit of {caller.rate_limit_rpm} requests a minute is reached",
                retry_after=wait, field="key",
            )
    return job


def _budgets_of(caller: Caller) -> tuple[Budget, ...]:
    if caller.key_id is None or caller.monthly_budget is None:
        return ()
    return (Budget("key", str(caller.key_id), caller.monthly_budget),)


def _check_messages(messages: Sequence[Message]) -> None:
    if not messages:
        raise QfError("give a prompt or at least one message", field="messages")
    if len(messages) > MAX_MESSAGES:
        raise QfError(f"at most {MAX_MESSAGES} messages", field="messages")
    if not any(m.role == "user" and m.content.strip() for m in messages):
        raise QfError("needs a non-empty user message", field="messages")


def _check_task(caller: Caller, task: str) -> None:
    if task == AUTO_TASK:
        # The detected type could be any task: only a key that may run every task may ask.
        if caller.tasks is not None:
            raise Forbidden("task 'auto' needs a key that may run every task", field="task")
        return
    require_task_scope(caller, task)
    snapshot = snapshot_get()
    if task not in snapshot.tasks and task not in snapshot.env_task_models:
        raise NotFound(f"unknown task {task!r}", field="task")


def _check_override(job: Job) -> None:
    """Every override reference must be a configured, enabled model able to serve: one that
    cannot is refused here rather than silently routed around."""
    prompt = "\n".join(m.content for m in job.messages)
    resolution = resolve_live(
        persona=job.persona, task=job.task, prompt=prompt, override=job.override,
        modality=job.modality, strategy=job.strategy, input_tokens=estimate_tokens(prompt),
        characters=len(prompt), explain_only=True,
    )
    if why := unusable_override(resolution):
        raise QfError(why, field="override")
