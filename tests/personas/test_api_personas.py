"""/api/personas: the persona store for apps, scoped to the key's personas."""

from __future__ import annotations

import pytest
from django.test import Client

from personas.history import persona_snapshot
from personas.models import Persona, PersonaChange
from tests.factories import PROTECTED, bearer, issue_key

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def writer(store):
    return bearer(issue_key(all_personas=True, all_tasks=True, may_write=True))


@pytest.fixture
def reader(store):
    return bearer(issue_key(all_personas=True, all_tasks=True))


@pytest.fixture
def smith_writer(store):
    """May write, but only persona scene_smith (persona A); illustrator is persona B."""
    return bearer(issue_key(personas=("scene_smith",), may_write=True))


def _error(response) -> dict:
    return response.json()["error"]


def _state() -> tuple:
    return (
        [persona_snapshot(p) for p in Persona.objects.all()],
        list(PersonaChange.objects.values_list("id", flat=True)),
    )


# ---- list -----------------------------------------------------------------------------


def test_it_lists_personas_in_the_snapshot_shape(client, writer, store):
    response = client.get("/api/personas", **writer)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert body["items"] == [persona_snapshot(store.illustrator), persona_snapshot(store.smith)]


def test_it_lists_with_a_fixed_number_of_queries(client, writer, store, django_assert_num_queries):
    for n in range(5):
        Persona.objects.create(slug=f"extra{n}", model=store.gpt4o)
    client.get("/api/personas", **writer)  # the key's scopes are cached from now on
    # count; personas with their model and provider; fallbacks; task overrides
    with django_assert_num_queries(4):
        response = client.get("/api/personas", **writer)
    assert response.json()["count"] == 7


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("q=smith", ["scene_smith"]),
        ("q=Scene", ["scene_smith"]),
        ("modality=image", ["illustrator"]),
        ("provider=echo", ["illustrator"]),
        ("provider=openai", ["scene_smith"]),
        ("provider=nowhere", []),
        ("model=openai:gpt-4o", ["scene_smith"]),
        ("model=openai:nothing", []),
        ("enabled=false", []),
        ("enabled=true", ["illustrator", "scene_smith"]),
    ],
)
def test_it_filters_the_list(client, reader, query, slugs):
    response = client.get(f"/api/personas?{query}", **reader)

    assert response.status_code == 200, response.content
    assert [p["slug"] for p in response.json()["items"]] == slugs


def test_it_pages_the_list(client, reader):
    first = client.get("/api/personas?page=1&page_size=1", **reader).json()
    second = client.get("/api/personas?page=2&page_size=1", **reader).json()

    assert first["count"] == second["count"] == 2
    assert [first["items"][0]["slug"], second["items"][0]["slug"]] == ["illustrator", "scene_smith"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("modality=video", "modality"),
        ("model=no-colon", "model"),
        ("page=0", "page"),
        ("page_size=500", "page_size"),
    ],
)
def test_it_rejects_bad_filters_naming_the_field(client, reader, query, field):
    response = client.get(f"/api/personas?{query}", **reader)

    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_a_scoped_key_lists_only_its_personas(client, smith_writer):
    response = client.get("/api/personas", **smith_writer)

    assert [p["slug"] for p in response.json()["items"]] == ["scene_smith"]
    assert response.json()["count"] == 1


# ---- create ---------------------------------------------------------------------------


def test_it_creates_a_persona_and_records_who(client, writer):
    data = {
        "slug": "critic",
        "name": "Critic",
        "model": "anthropic:claude-sonnet-4",
        "fallbacks": ["openai:gpt-4o"],
        "params": {"temperature": 0.2},
        "task_overrides": {"response": {"model": "openai:gpt-4o-mini"}},
    }
    response = client.post("/api/personas", data, content_type=JSON, **writer)

    assert response.status_code == 201, response.content
    critic = Persona.objects.get(slug="critic")
    assert response.json() == persona_snapshot(critic)
    assert response.json()["task_overrides"] == {
        "response": {"model": "openai:gpt-4o-mini", "params": {}}
    }
    change = PersonaChange.objects.get(persona_slug="critic")
    assert (change.action, change.actor) == ("created", "api:app")


def test_it_refuses_an_existing_slug_with_409(client, writer):
    before = _state()
    response = client.post(
        "/api/personas", {"slug": "scene_smith", "name": "Other"}, content_type=JSON, **writer
    )

    assert response.status_code == 409
    assert _error(response)["field"] == "slug"
    assert _state() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"slug": "critic", "model": "openai:nothing"}, "model"),
        ({"slug": "critic", "model": "echo:echo-image"}, "model"),
        ({"slug": "critic", "fallbacks": ["openai:gpt-4o", "nope"]}, "fallbacks[1]"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "critic", "is_enabled": "yes"}, "is_enabled"),
        ({"slug": "critic", "params": {"temperature": 9}}, "params.temperature"),
        (
            {"slug": "critic", "task_overrides": {"nosuch": {"model": "openai:gpt-4o"}}},
            "task_overrides.nosuch",
        ),
        ({"name": "no slug"}, "slug"),
    ],
)
def test_it_rejects_a_bad_persona_naming_the_field_and_changes_nothing(client, writer, data, field):
    before = _state()
    response = client.post("/api/personas", data, content_type=JSON, **writer)

    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in _error(response)["errors"]]
    assert _state() == before


def test_a_key_without_write_scope_cannot_create(client, reader):
    response = client.post("/api/personas", {"slug": "critic"}, content_type=JSON, **reader)

    assert response.status_code == 403
    assert _error(response)["field"] == "scope"
    assert not Persona.objects.filter(slug="critic").exists()


def test_a_key_without_all_personas_scope_cannot_create(client, smith_writer):
    response = client.post("/api/personas", {"slug": "critic"}, content_type=JSON, **smith_writer)

    assert response.status_code == 403
    assert not Persona.objects.filter(slug="critic").exists()


# ---- mass assignment (RELIABILITY required test 23) -----------------------------------


@pytest.mark.parametrize("field", PROTECTED)
def test_create_with_a_protected_field_is_422_and_changes_nothing(client, writer, field):
    before = _state()
    response = client.post(
        "/api/personas", {"slug": "critic", field: 1}, content_type=JSON, **writer
    )

    assert response.status_code == 422
    assert field in [e["field"] for e in _error(response)["errors"]]
    assert _state() == before


@pytest.mark.parametrize("field", [*PROTECTED, "slug", "created_at"])
def test_patch_with_a_protected_field_is_422_and_changes_nothing(client, writer, field):
    before = _state()
    data = {"name": "Renamed", field: "x"}
    response = client.patch("/api/personas/scene_smith", data, content_type=JSON, **writer)

    assert response.status_code == 422
    assert _error(response)["errors"][0]["field"] == field
    assert _state() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"description": "a\x00b"}, "description"),
        ({"params": {"temperature": float("nan")}}, "params"),
        ({"params": {"stop": ["ok", "x\x00"]}}, "params"),
        (
            {"task_overrides": {"response": {"model": "openai:gpt-4o", "params": {"k\x00": 1}}}},
            "task_overrides",
        ),
    ],
)
def test_what_postgresql_cannot_store_is_422(client, writer, data, field):
    before = _state()
    response = client.patch("/api/personas/scene_smith", data, content_type=JSON, **writer)

    assert response.status_code == 422
    assert _error(response)["field"].startswith(field)
    assert _state() == before


# ---- read, change, delete -------------------------------------------------------------


def test_it_reads_one_persona(client, reader, store):
    response = client.get("/api/personas/scene_smith", **reader)

    assert response.status_code == 200
    assert response.json() == persona_snapshot(store.smith)


def test_it_answers_404_for_an_unknown_persona(client, writer):
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)("/api/personas/nobody", {}, content_type=JSON, **writer)
        assert response.status_code == 404, method
        assert _error(response)["field"] == "persona"


def test_it_changes_only_the_fields_sent(client, writer, store):
    response = client.patch(
        "/api/personas/scene_smith",
        {"name": "Smith", "provider": "anthropic"},
        content_type=JSON,
        **writer,
    )

    assert response.status_code == 200, response.content
    smith = Persona.objects.get(slug="scene_smith")
    assert (smith.name, smith.provider.name, smith.model) == ("Smith", "anthropic", None)
    assert smith.params == {"temperature": 0.7}  # not sent, kept
    assert response.json() == persona_snapshot(smith)
    assert PersonaChange.objects.filter(
        persona_slug="scene_smith", action="updated", actor="api:app"
    ).exists()


def test_a_bad_patch_names_the_field_and_changes_nothing(client, writer):
    before = _state()
    data = {"name": "Changed", "model": "echo:echo-image"}
    response = client.patch("/api/personas/scene_smith", data, content_type=JSON, **writer)

    assert response.status_code == 422
    assert _error(response)["field"] == "model"  # an image model cannot serve a text persona
    assert _state() == before


def test_a_key_without_write_scope_cannot_change_or_delete(client, reader):
    before = _state()
    patch = client.patch("/api/personas/scene_smith", {"name": "x"}, content_type=JSON, **reader)
    delete = client.delete("/api/personas/scene_smith", **reader)

    assert (patch.status_code, delete.status_code) == (403, 403)
    assert _state() == before


def test_it_deletes_a_persona_keeping_its_history(client, writer):
    response = client.delete("/api/personas/illustrator", **writer)

    assert response.status_code == 204
    assert not Persona.objects.filter(slug="illustrator").exists()
    assert PersonaChange.objects.filter(
        persona_slug="illustrator", action="deleted", actor="api:app"
    ).exists()


# ---- BOLA: a key scoped to persona A and persona B ------------------------------------


def test_a_key_scoped_to_a_cannot_read_change_or_delete_b(client, smith_writer, store):
    before = persona_snapshot(store.illustrator)
    answers = [
        client.get("/api/personas/illustrator", **smith_writer),
        client.patch(
            "/api/personas/illustrator", {"name": "Mine"}, content_type=JSON, **smith_writer
        ),
        client.delete("/api/personas/illustrator", **smith_writer),
        client.get("/api/personas/illustrator/history", **smith_writer),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    missing = _error(client.get("/api/personas/nobody", **smith_writer))
    for answer in map(_error, answers):  # out of scope reads exactly as missing
        assert (answer["code"], answer["field"]) == (missing["code"], missing["field"])
        assert answer["message"] == missing["message"].replace("nobody", "illustrator")
    assert persona_snapshot(Persona.objects.get(slug="illustrator")) == before


def test_a_key_scoped_to_a_still_changes_a(client, smith_writer):
    response = client.patch(
        "/api/personas/scene_smith", {"name": "Mine"}, content_type=JSON, **smith_writer
    )

    assert response.status_code == 200
    assert Persona.objects.get(slug="scene_smith").name == "Mine"


def test_a_key_scoped_to_a_cannot_revert_b(client, smith_writer, store):
    from personas.history import persona_record_change

    change = persona_record_change(persona=store.illustrator, action="created")
    response = client.post(f"/api/personas/illustrator/history/{change.pk}/revert", **smith_writer)

    assert response.status_code == 404


def test_a_change_of_b_cannot_be_applied_through_a(client, smith_writer, store):
    from personas.history import persona_record_change

    change = persona_record_change(persona=store.illustrator, action="created")
    response = client.post(f"/api/personas/scene_smith/history/{change.pk}/revert", **smith_writer)

    assert response.status_code == 404
    assert persona_snapshot(Persona.objects.get(slug="scene_smith")) == store.change.snapshot


# ---- history and revert ---------------------------------------------------------------


def test_it_lists_the_history_newest_first(client, writer, store):
    client.patch("/api/personas/scene_smith", {"name": "Second"}, content_type=JSON, **writer)

    response = client.get("/api/personas/scene_smith/history", **writer)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["action"], i["actor"]) for i in items] == [
        ("updated", "api:app"),
        ("created", "fixture"),
    ]
    assert items[0]["snapshot"]["name"] == "Second"
    assert items[1]["id"] == store.change.pk


def test_the_history_pages_and_refuses_a_bad_page(client, writer):
    client.patch("/api/personas/scene_smith", {"name": "Second"}, content_type=JSON, **writer)

    page = client.get("/api/personas/scene_smith/history?page=2&page_size=1", **writer)
    bad = client.get("/api/personas/scene_smith/history?page=0", **writer)

    assert page.json()["count"] == 2
    assert [i["actor"] for i in page.json()["items"]] == ["fixture"]
    assert (bad.status_code, _error(bad)["field"]) == (422, "page")


def test_it_reverts_to_a_recorded_change(client, writer, store):
    client.patch(
        "/api/personas/scene_smith",
        {"name": "Broken", "fallbacks": []},
        content_type=JSON,
        **writer,
    )

    response = client.post(f"/api/personas/scene_smith/history/{store.change.pk}/revert", **writer)

    assert response.status_code == 200, response.content
    smith = Persona.objects.get(slug="scene_smith")
    assert persona_snapshot(smith) == store.change.snapshot
    assert response.json() == store.change.snapshot
    assert PersonaChange.objects.filter(persona_slug="scene_smith").count() == 3


@pytest.mark.parametrize(
    ("change_id", "status"), [("999999", 404), ("99999999999999999999999", 422)]
)
def test_revert_of_an_unknown_change_names_it(client, writer, change_id, status):
    response = client.post(f"/api/personas/scene_smith/history/{change_id}/revert", **writer)

    assert response.status_code == status
    assert _error(response)["field"] == "change_id"


def test_revert_needs_write_scope(client, reader, store):
    response = client.post(f"/api/personas/scene_smith/history/{store.change.pk}/revert", **reader)

    assert response.status_code == 403


# ---- staff sessions -------------------------------------------------------------------


def test_a_staff_session_can_write(admin_client, store):
    response = admin_client.post("/api/personas", {"slug": "critic"}, content_type=JSON)

    assert response.status_code == 201, response.content
    assert PersonaChange.objects.get(persona_slug="critic").actor == "api:admin"


def test_a_staff_session_post_without_csrf_token_is_403(store, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post("/api/personas", {"slug": "critic"}, content_type=JSON)

    assert response.status_code == 403
    assert "CSRF" in _error(response)["message"]
    assert not Persona.objects.filter(slug="critic").exists()
