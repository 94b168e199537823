"""/api/scenarios: agent groups with a model distribution, and their seeded assignment."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from personas.models import Scenario, ScenarioModel
from personas.services import scenario_snapshot
from tests.factories import PROTECTED as COMMON_PROTECTED
from tests.factories import bearer, issue_key

pytestmark = pytest.mark.django_db
JSON = "application/json"
PROTECTED = [*COMMON_PROTECTED, "last_seed", "last_assignment"]


@pytest.fixture
def writer(store):
    return bearer(issue_key(all_personas=True, all_tasks=True, may_write=True))


@pytest.fixture
def reader(store):
    """A key scoped to nothing at all: scenarios are readable by any caller."""
    return bearer(issue_key())


def _error(response) -> dict:
    return response.json()["error"]


def _state() -> list:
    return [(scenario_snapshot(s), s.last_seed, s.last_assignment) for s in Scenario.objects.all()]


def test_it_lists_scenarios(client, reader):
    response = client.get("/api/scenarios", **reader)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["items"][0] == {
        "name": "debate",
        "description": "",
        "group_size": 10,
        "distribution": {"openai:gpt-4o": 5, "anthropic:claude-sonnet-4": 5},
        "last_seed": None,
        "assigned_at": None,
    }


def test_the_list_refuses_a_bad_page_naming_the_field(client, reader):
    response = client.get("/api/scenarios?page_size=0", **reader)

    assert response.status_code == 422
    assert _error(response)["field"] == "page_size"


def test_it_reads_one_scenario(client, reader):
    response = client.get("/api/scenarios/debate", **reader)

    assert response.status_code == 200
    assert response.json()["group_size"] == 10


def test_unknown_scenarios_are_404(client, writer):
    answers = [
        client.get("/api/scenarios/nothing", **writer),
        client.patch("/api/scenarios/nothing", {}, content_type=JSON, **writer),
        client.delete("/api/scenarios/nothing", **writer),
        client.post("/api/scenarios/nothing/assign", {}, content_type=JSON, **writer),
        client.get("/api/scenarios/nothing/assignment", **writer),
    ]

    assert [a.status_code for a in answers] == [404] * 5
    assert {_error(a)["field"] for a in answers} == {"scenario"}


def test_it_creates_a_scenario_with_group_size_from_the_counts(client, writer):
    data = {"name": "panel", "distribution": {"openai:gpt-4o": 2, "echo:echo": 1}}
    response = client.post("/api/scenarios", data, content_type=JSON, **writer)

    assert response.status_code == 201, response.content
    assert response.json()["group_size"] == 3
    assert scenario_snapshot(Scenario.objects.get(name="panel"))["distribution"] == {
        "openai:gpt-4o": 2,
        "echo:echo": 1,
    }


def test_it_refuses_an_existing_name_with_409(client, writer):
    before = _state()
    data = {"name": "debate", "distribution": {"echo:echo": 1}}
    response = client.post("/api/scenarios", data, content_type=JSON, **writer)

    assert response.status_code == 409
    assert _state() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "panel", "distribution": {"openai:nothing": 2}}, "distribution.openai:nothing"),
        ({"name": "panel", "distribution": {"echo:echo": 0}}, "distribution.echo:echo"),
        ({"name": "panel", "distribution": {"echo:echo": "2"}}, "distribution.echo:echo"),
        ({"name": "panel", "group_size": 5, "distribution": {"echo:echo": 2}}, "distribution"),
        ({"name": "Bad Name", "distribution": {"echo:echo": 2}}, "name"),
        ({"name": "panel"}, "distribution"),
        ({"name": "panel", "distribution": {"echo:echo": 100_001}}, "distribution.echo:echo"),
        ({"name": "panel", "group_size": 0, "distribution": {"echo:echo": 1}}, "group_size"),
    ],
)
def test_it_rejects_a_bad_scenario_naming_the_field(client, writer, data, field):
    before = _state()
    response = client.post("/api/scenarios", data, content_type=JSON, **writer)

    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in _error(response)["errors"]]
    assert _state() == before


@pytest.mark.parametrize("field", PROTECTED)
def test_protected_fields_are_422_and_change_nothing(client, writer, field):
    before = _state()
    create = client.post(
        "/api/scenarios",
        {"name": "panel", "distribution": {"echo:echo": 1}, field: 1},
        content_type=JSON,
        **writer,
    )
    patch = client.patch(
        "/api/scenarios/debate", {"description": "x", field: 1}, content_type=JSON, **writer
    )

    assert (create.status_code, patch.status_code) == (422, 422)
    assert _error(patch)["field"] == field
    assert _state() == before


def test_it_changes_a_scenario(client, writer):
    data = {"group_size": 4, "distribution": {"openai:gpt-4o": 3, "echo:echo": 1}}
    response = client.patch("/api/scenarios/debate", data, content_type=JSON, **writer)

    assert response.status_code == 200, response.content
    assert response.json()["distribution"] == {"openai:gpt-4o": 3, "echo:echo": 1}
    assert Scenario.objects.get(name="debate").group_size == 4


def test_it_deletes_a_scenario(client, writer):
    response = client.delete("/api/scenarios/debate", **writer)

    assert response.status_code == 204
    assert not Scenario.objects.exists() and not ScenarioModel.objects.exists()


def test_writes_need_the_write_scope(client, reader):
    before = _state()
    answers = [
        client.post(
            "/api/scenarios",
            {"name": "panel", "distribution": {"echo:echo": 1}},
            content_type=JSON,
            **reader,
        ),
        client.patch("/api/scenarios/debate", {"description": "x"}, content_type=JSON, **reader),
        client.delete("/api/scenarios/debate", **reader),
        client.post("/api/scenarios/debate/assign", {"seed": 1}, content_type=JSON, **reader),
    ]

    assert [a.status_code for a in answers] == [403] * 4
    assert {_error(a)["field"] for a in answers} == {"scope"}
    assert _state() == before


# ---- assignment -----------------------------------------------------------------------


def test_it_assigns_and_stores_with_the_seed_given(client, writer):
    response = client.post(
        "/api/scenarios/debate/assign", {"seed": 42}, content_type=JSON, **writer
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["seed"] == 42 and body["scenario"] == "debate"
    assert [a["agent"] for a in body["assignment"]] == list(range(1, 11))
    assert Counter(a["model"] for a in body["assignment"]) == {
        "openai:gpt-4o": 5,
        "anthropic:claude-sonnet-4": 5,
    }
    stored = Scenario.objects.get(name="debate")
    assert (stored.last_seed, stored.last_assignment) == (42, body["assignment"])


def test_the_same_seed_gives_the_same_assignment(client, writer):
    first = client.post("/api/scenarios/debate/assign", {"seed": 2024}, content_type=JSON, **writer)
    second = client.post(
        "/api/scenarios/debate/assign", {"seed": 2024}, content_type=JSON, **writer
    )

    assert first.json()["assignment"] == second.json()["assignment"]


def test_it_draws_a_seed_when_none_is_given(client, writer):
    with_empty = client.post("/api/scenarios/debate/assign", {}, content_type=JSON, **writer)
    without_body = client.generic("POST", "/api/scenarios/debate/assign", **writer)

    for response in (with_empty, without_body):
        assert response.status_code == 200, response.content
        assert 0 <= response.json()["seed"] < 2**63


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"seed": "7"}, "seed"),
        ({"seed": 1, "n": 2}, "n"),
    ],
)
def test_a_bad_seed_or_an_extra_field_is_422(client, writer, body, field):
    response = client.post("/api/scenarios/debate/assign", body, content_type=JSON, **writer)

    assert response.status_code == 422
    assert _error(response)["field"] == field
    assert Scenario.objects.get(name="debate").last_assignment is None


def test_a_distribution_that_does_not_add_up_is_409(client, writer):
    Scenario.objects.filter(name="debate").update(group_size=11)

    response = client.post("/api/scenarios/debate/assign", {"seed": 1}, content_type=JSON, **writer)

    assert response.status_code == 409
    assert _error(response)["field"] == "distribution"


def test_the_stored_assignment_downloads_as_json(client, writer, reader):
    assigned = client.post(
        "/api/scenarios/debate/assign", {"seed": 5}, content_type=JSON, **writer
    ).json()

    response = client.get("/api/scenarios/debate/assignment", **reader)

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="debate-assignment.json"'
    assert json.loads(response.content) == assigned


def test_an_assignment_never_made_is_404(client, reader):
    response = client.get("/api/scenarios/debate/assignment", **reader)

    assert response.status_code == 404
    assert _error(response)["field"] == "assignment"


def test_a_staff_session_can_assign(admin_client, store):
    response = admin_client.post("/api/scenarios/debate/assign", {"seed": 3}, content_type=JSON)

    assert response.status_code == 200
