"""/api/tasks and /api/defaults: task chains, scoped to the key's tasks, and the global
default model per modality."""

from __future__ import annotations

import pytest
from django.test import Client

from routing.models import Default, Task
from tests.factories import PROTECTED, bearer, issue_key

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def writer(store):
    return bearer(issue_key(all_personas=True, all_tasks=True, may_write=True))


@pytest.fixture
def reader(store):
    return bearer(issue_key(all_tasks=True))


@pytest.fixture
def other_task(store):
    return Task.objects.create(name="summary", primary=store.mini, description="theirs")


@pytest.fixture
def response_writer(store):
    """May write, but sees only task `response`."""
    return bearer(issue_key(tasks=("response",), may_write=True))


def _error(response) -> dict:
    return response.json()["error"]


def _fields(response) -> list:
    return [e["field"] for e in _error(response)["errors"]]


def test_it_lists_tasks_with_their_chains(client, reader):
    response = client.get("/api/tasks", **reader)

    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "items": [
            {
                "name": "response",
                "description": "",
                "modality": "text",
                "primary": "openai:gpt-4o",
                "fallbacks": ["anthropic:claude-sonnet-4", "echo:echo"],
                "requirements": {"reasoning": "moderate"},
                "strategy": "failover",
                "default_params": {},
            }
        ],
    }


def test_it_lists_tasks_with_a_fixed_number_of_queries(
    client, reader, store, django_assert_num_queries
):
    for n in range(5):
        Task.objects.create(name=f"t{n}", primary=store.gpt4o)
    client.get("/api/tasks", **reader)  # the key's scopes are cached from now on
    # count; tasks with their primary and its provider; fallbacks; requirements
    with django_assert_num_queries(4):
        response = client.get("/api/tasks", **reader)
    assert response.json()["count"] == 6


def test_the_task_list_refuses_a_bad_page_naming_the_field(client, reader):
    response = client.get("/api/tasks?page=x", **reader)

    assert response.status_code == 422
    assert _error(response)["field"] == "page"


def test_it_creates_a_task(client, writer):
    data = {
        "name": "validation",
        "primary": "anthropic:claude-sonnet-4",
        "fallbacks": ["openai:gpt-4o"],
        "requirements": {"reasoning": "strong"},
        "strategy": "cost_optimized",
        "default_params": {"temperature": 0},
    }
    response = client.post("/api/tasks", data, content_type=JSON, **writer)

    assert response.status_code == 201, response.content
    assert response.json() == {**data, "description": "", "modality": "text"}
    task = Task.objects.get(name="validation")
    assert [f.model.name for f in task.fallbacks.all()] == ["gpt-4o"]


def test_an_existing_task_is_409(client, writer, store_snapshot):
    before = store_snapshot()
    response = client.post("/api/tasks", {"name": "response"}, content_type=JSON, **writer)

    assert response.status_code == 409
    assert store_snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "t", "primary": "openai:nothing"}, "primary"),
        ({"name": "t", "primary": "echo:echo-image"}, "primary"),
        ({"name": "t", "fallbacks": ["openai:gpt-4o", "openai:gpt-4o"]}, "fallbacks[1]"),
        ({"name": "t", "requirements": {"nothing": "strong"}}, "requirements.nothing"),
        ({"name": "t", "requirements": {"reasoning": "godlike"}}, "requirements.reasoning"),
        ({"name": "t", "strategy": "coin_toss"}, "strategy"),
        ({"name": "t", "modality": "smell"}, "modality"),
        ({"name": "T T"}, "name"),
    ],
)
def test_a_bad_task_is_422_naming_the_field(client, writer, data, field, store_snapshot):
    before = store_snapshot()
    response = client.post("/api/tasks", data, content_type=JSON, **writer)

    assert response.status_code == 422, response.content
    assert field in _fields(response)
    assert store_snapshot() == before


@pytest.mark.parametrize("field", [*PROTECTED, "created_at", "primary_id"])
def test_task_writes_with_protected_fields_are_422_and_change_nothing(
    client, writer, field, store_snapshot
):
    before = store_snapshot()
    create = client.post("/api/tasks", {"name": "t", field: 1}, content_type=JSON, **writer)
    patch = client.patch(
        "/api/tasks/response", {"description": "x", field: 1}, content_type=JSON, **writer
    )

    assert (create.status_code, patch.status_code) == (422, 422)
    assert _fields(patch) == [field]
    assert store_snapshot() == before


def test_it_changes_a_task(client, writer):
    data = {"fallbacks": ["echo:echo"], "primary": None, "description": "answers"}
    response = client.patch("/api/tasks/response", data, content_type=JSON, **writer)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["primary"], body["fallbacks"], body["description"]) == (
        None,
        ["echo:echo"],
        "answers",
    )
    assert body["requirements"] == {"reasoning": "moderate"}  # not sent, kept
    assert Task.objects.get(name="response").primary is None


def test_it_deletes_a_task(client, writer, other_task):
    response = client.delete("/api/tasks/summary", **writer)

    assert response.status_code == 204
    assert not Task.objects.filter(name="summary").exists()


def test_an_unknown_task_is_404(client, writer):
    answers = [
        client.get("/api/tasks/nothing", **writer),
        client.patch("/api/tasks/nothing", {}, content_type=JSON, **writer),
        client.delete("/api/tasks/nothing", **writer),
    ]

    assert [a.status_code for a in answers] == [404] * 3
    assert {_error(a)["field"] for a in answers} == {"task"}


def test_task_writes_need_the_write_scope(client, reader, store_snapshot):
    before = store_snapshot()
    answers = [
        client.post("/api/tasks", {"name": "t"}, content_type=JSON, **reader),
        client.patch("/api/tasks/response", {"description": "x"}, content_type=JSON, **reader),
        client.delete("/api/tasks/response", **reader),
    ]

    assert [a.status_code for a in answers] == [403] * 3
    assert store_snapshot() == before


# ---- scope ----------------------------------------------------------------------------


def test_a_task_scoped_key_sees_only_its_tasks(client, response_writer, other_task):
    listed = client.get("/api/tasks", **response_writer)

    assert [t["name"] for t in listed.json()["items"]] == ["response"]
    assert listed.json()["count"] == 1


def test_a_task_scoped_key_cannot_read_change_or_delete_other_tasks(
    client, response_writer, other_task, store_snapshot
):
    before = store_snapshot()
    answers = [
        client.get("/api/tasks/summary", **response_writer),
        client.patch(
            "/api/tasks/summary", {"description": "mine"}, content_type=JSON, **response_writer
        ),
        client.delete("/api/tasks/summary", **response_writer),
    ]
    missing = _error(client.get("/api/tasks/nothing", **response_writer))

    assert [a.status_code for a in answers] == [404] * 3
    for answer in map(_error, answers):  # out of scope reads exactly as missing
        assert answer["message"] == missing["message"].replace("nothing", "summary")
    assert store_snapshot() == before


def test_a_task_scoped_key_cannot_change_even_its_own_task(client, response_writer):
    """A task's chain serves every persona that runs it: it is shared catalog."""
    response = client.patch(
        "/api/tasks/response", {"description": "mine"}, content_type=JSON, **response_writer
    )

    assert response.status_code == 403
    assert _error(response)["field"] == "scope"


def test_a_task_scoped_key_cannot_create_tasks(client, response_writer):
    response = client.post("/api/tasks", {"name": "t"}, content_type=JSON, **response_writer)

    assert response.status_code == 403
    assert _error(response)["field"] == "scope"
    assert not Task.objects.filter(name="t").exists()


# ---- defaults -------------------------------------------------------------------------


def test_it_reads_the_defaults(client, reader):
    response = client.get("/api/defaults", **reader)

    assert response.status_code == 200
    assert response.json() == {"text": "echo:echo"}


def test_it_sets_a_default_by_handle_or_provider(client, writer):
    by_handle = client.put(
        "/api/defaults/text", {"model": "openai:gpt-4o"}, content_type=JSON, **writer
    )
    by_provider = client.put("/api/defaults/image", {"model": "echo"}, content_type=JSON, **writer)

    assert by_handle.json() == {"modality": "text", "model": "openai:gpt-4o"}
    assert by_provider.json() == {"modality": "image", "model": "echo:echo-image"}
    assert client.get("/api/defaults", **writer).json() == {
        "text": "openai:gpt-4o",
        "image": "echo:echo-image",
    }


@pytest.mark.parametrize(
    ("url", "data", "field"),
    [
        ("/api/defaults/smell", {"model": "openai:gpt-4o"}, "modality"),
        ("/api/defaults/text", {"model": "openai:nothing"}, "model"),
        ("/api/defaults/image", {"model": "openai:gpt-4o"}, "model"),
        ("/api/defaults/text", {"model": "anthropic"}, "model"),  # it has no default model
        ("/api/defaults/text", {"model": "openai:gpt-4o", "id": 1}, "id"),
        ("/api/defaults/text", {}, "model"),
    ],
)
def test_a_bad_default_is_422_naming_the_field(client, writer, url, data, field, store_snapshot):
    before = store_snapshot()
    response = client.put(url, data, content_type=JSON, **writer)

    assert response.status_code == 422, response.content
    assert field in _fields(response)
    assert store_snapshot() == before


def test_setting_a_default_needs_the_write_scope(client, reader):
    response = client.put(
        "/api/defaults/text", {"model": "openai:gpt-4o"}, content_type=JSON, **reader
    )

    assert response.status_code == 403
    assert Default.objects.get(modality="text").model.handle == "echo:echo"


def test_a_staff_session_can_set_a_default(admin_client, store):
    response = admin_client.put("/api/defaults/text", {"model": "openai:gpt-4o"}, content_type=JSON)

    assert response.status_code == 200


def test_a_staff_put_without_csrf_token_is_403(store, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.put("/api/defaults/text", {"model": "openai:gpt-4o"}, content_type=JSON)

    assert response.status_code == 403
    assert Default.objects.get(modality="text").model.handle == "echo:echo"
