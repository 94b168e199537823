"""resolve_live: the cached snapshot, the shared round-robin counter, task detection."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from personas.profiles import profile_get
from qfweb.errors import QfError
from routing.models import Task
from routing.resolution import ROTATION_KEY, resolve_live

pytestmark = pytest.mark.django_db


def rotate_response_task() -> None:
    Task.objects.filter(name="response").update(strategy="round_robin")
    Task.objects.get(name="response").save()  # update() sends no signal; save() bumps the version


def firsts(n: int, **request) -> list[str]:
    return [resolve_live(task="response", **request).handles[0] for _ in range(n)]


def test_round_robin_rotates_across_requests_through_the_shared_counter(demo):
    rotate_response_task()
    assert firsts(3) == ["anthropic:claude-3-5-sonnet-latest", "openai:gpt-4o", "anthropic:claude-3-5-sonnet-latest"]
    # The counter lives in the Django cache, where every process reads and moves it.
    assert cache.get(ROTATION_KEY.format(persona="", task="response")) == 3


def test_explaining_a_round_robin_chain_does_not_move_the_counter(demo):
    rotate_response_task()
    shown = [resolve_live(task="response", explain_only=True).handles for _ in range(3)]
    assert shown[0] == shown[1] == shown[2]
    assert resolve_live(task="response").handles == shown[0]  # what was shown is what serves next


def test_weighted_gives_one_request_id_the_same_arm(demo):
    Task.objects.filter(name="response").update(strategy="weighted")
    Task.objects.get(name="response").save()
    arms = {request_id: resolve_live(task="response", request_id=request_id).handles for request_id in ("a", "b", "c", "d")}
    for request_id, handles in arms.items():
        assert resolve_live(task="response", request_id=request_id).handles == handles


@pytest.mark.parametrize(("prompt", "task", "chain"), [
    # No stored task of that name: the type's requirements pick the models (capability level).
    ("Summarize these notes as a JSON object with the fields name and date", "extraction",
     ["gemini:gemini-2.0-flash", "openai:gpt-4o-mini", "openai:o3-mini", "openai:gpt-4o", "echo:echo"]),
    ("Fix this Python function: def f(x): return x +", "code",
     ["openai:o3-mini", "openai:gpt-4o", "anthropic:claude-3-5-sonnet-latest", "echo:echo"]),
    ("hello there, how are you?", "chat", ["echo:echo"]),
])
def test_auto_detects_the_task_from_the_prompt(demo, prompt, task, chain):
    r = resolve_live(task="auto", prompt=prompt)
    assert (r.task, r.handles) == (task, chain)
    assert r.notes[0] == f"task {task} detected from the prompt"
    assert {str(e.level) for e in r.chain[:-1]} <= {"capability"}


def test_auto_uses_a_stored_task_of_the_detected_name(demo):
    Task.objects.create(name="code", primary=Task.objects.get(name="response").primary)
    r = resolve_live(task="auto", prompt="Refactor this function and add unit tests")
    assert (r.task, str(r.chain[0].level), r.chain[0].handle) == ("code", "task", "openai:gpt-4o")


def test_a_persona_resolves_through_its_profile(demo):
    r = resolve_live(persona=profile_get("gatekeeper"), task="validation")
    assert [(str(e.level), e.handle) for e in r.chain[:2]] == [
        ("persona_task", "openai:gpt-4o-mini"), ("persona", "ollama:llama3")
    ]


@pytest.mark.parametrize(("request_fields", "field", "message"), [
    ({"strategy": "fastest"}, "strategy", "unknown strategy 'fastest'"),
    ({"requirements": {"code": 7}}, "requirements", "strengths 0..4"),
    ({"requirements": {"code": "strong"}}, "requirements", "strengths 0..4"),
    ({"override": ["openai:gpt-4o", None]}, "override", "provider:model handles"),
    ({"override": [" "]}, "override", "provider:model handles"),
    ({"task": 3}, "task", "must be a task name"),
    ({"modality": "video"}, "modality", "unknown modality 'video'"),
    ({"input_tokens": -1}, "input_tokens", "whole number"),
])
def test_bad_input_is_refused_naming_the_field(demo, request_fields, field, message):
    with pytest.raises(QfError, match=message) as raised:
        resolve_live(**request_fields)
    assert raised.value.field == field


def test_an_override_given_as_one_string_is_one_handle(demo):
    assert resolve_live(override=" openai:gpt-4o ").chain[0].handle == "openai:gpt-4o"


def test_weighted_without_a_request_id_still_splits(demo):
    Task.objects.filter(name="response").update(strategy="weighted")
    Task.objects.get(name="response").save()
    assert len({resolve_live(task="response").handles[0] for _ in range(40)}) > 1


def test_auto_detection_leaves_the_persona_order_alone(demo):
    r = resolve_live(persona=profile_get("scene_smith"), task="auto", prompt="Fix this Python function")
    assert [(str(e.level), e.handle) for e in r.chain[:2]] == [
        ("persona", "openai:gpt-4o"), ("persona_fallback", "anthropic:claude-3-5-sonnet-latest")
    ]


def test_a_task_name_with_a_dash_reads_its_environment_model(demo, settings):
    settings.QF_TASK_MODELS = {"code_review": "openai:gpt-4o-mini"}
    r = resolve_live(task="code-review")
    assert (str(r.chain[0].level), r.chain[0].handle, r.chain[0].source) == (
        "env_task", "openai:gpt-4o-mini", "QF_MODEL_CODE_REVIEW"
    )
