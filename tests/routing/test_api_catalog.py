"""/api/providers, /api/models, /api/capabilities: the catalog, readable by any caller,
changed with the write scope; provider secrets go in and never come out."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from qfweb.crypto import decrypt
from routing.models import Capability, Model, ModelCapability, Provider
from tests.factories import PROTECTED, bearer, issue_key

pytestmark = pytest.mark.django_db
JSON = "application/json"
SECRET = "sk-live-0123456789abcdefSECRET"


@pytest.fixture
def writer(store):
    return bearer(issue_key(all_personas=True, all_tasks=True, may_write=True))


@pytest.fixture
def reader(store):
    return bearer(issue_key())


@pytest.fixture
def staff_client(store):
    """A staff user who is not a superuser."""
    user = get_user_model().objects.create_user("operator", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def _error(response) -> dict:
    return response.json()["error"]


def _fields(response) -> list:
    return [e["field"] for e in _error(response)["errors"]]


def _provider_row(name: str) -> dict:
    return Provider.objects.filter(name=name).values().get()


@pytest.mark.parametrize("url", ["/api/providers", "/api/models", "/api/capabilities"])
@pytest.mark.parametrize(("query", "field"), [("page=0", "page"), ("page_size=201", "page_size")])
def test_lists_refuse_bad_pages_naming_the_field(client, reader, url, query, field):
    response = client.get(f"{url}?{query}", **reader)

    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_lists_page(client, reader):
    first = client.get("/api/models?page_size=2", **reader).json()
    third = client.get("/api/models?page_size=2&page=3", **reader).json()

    assert first["count"] == third["count"] == 5
    assert (len(first["items"]), len(third["items"])) == (2, 1)


# ---- providers ------------------------------------------------------------------------


def test_it_lists_providers(client, reader):
    response = client.get("/api/providers", **reader)

    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == ["anthropic", "echo", "openai"]


def test_it_reads_a_provider_by_name_or_alias(client, reader, store):
    store.openai.aliases = ["oa"]
    store.openai.save()

    by_name = client.get("/api/providers/openai", **reader)
    by_alias = client.get("/api/providers/oa", **reader)

    assert by_name.status_code == by_alias.status_code == 200
    assert by_name.json() == by_alias.json()
    body = by_name.json()
    assert body["credential_ref"] == "${OPENAI_API_KEY}"
    assert body["has_stored_credential"] is False and body["health_state"] == "unknown"
    assert "credential_encrypted" not in body and "credential" not in body


def test_an_unknown_provider_is_404(client, writer):
    answers = [
        client.get("/api/providers/nowhere", **writer),
        client.patch("/api/providers/nowhere", {}, content_type=JSON, **writer),
        client.delete("/api/providers/nowhere", **writer),
    ]

    assert [a.status_code for a in answers] == [404] * 3


def test_it_creates_a_provider(client, writer):
    data = {
        "name": "groq",
        "kind": "openai",
        "base_url": "https://9.9.9.9/v1",
        "aliases": ["gq"],
        "credential_ref": "${GROQ_API_KEY}",
        "timeout_s": 30,
    }
    response = client.post("/api/providers", data, content_type=JSON, **writer)

    assert response.status_code == 201, response.content
    groq = Provider.objects.get(name="groq")
    assert (groq.kind, groq.aliases, groq.timeout_s) == ("openai", ["gq"], 30)
    assert response.json()["credential_ref"] == "${GROQ_API_KEY}"


@pytest.mark.parametrize("name", ["openai", "oa"])
def test_a_name_or_alias_in_use_is_409(client, writer, store, name, store_snapshot):
    store.openai.aliases = ["oa"]
    store.openai.save()
    before = store_snapshot()

    response = client.post(
        "/api/providers", {"name": name, "kind": "echo"}, content_type=JSON, **writer
    )

    assert response.status_code == 409
    assert store_snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "kind": "telepathy"}, "kind"),
        ({"name": "x", "kind": "openai"}, "base_url"),  # this kind needs one
        ({"name": "x", "kind": "openai", "base_url": "ftp://9.9.9.9"}, "base_url"),
        ({"name": "x", "kind": "openai", "base_url": "http://169.254.169.254/v1"}, "base_url"),
        ({"name": "x", "kind": "openai", "base_url": "https://9.9.9.9/?key=abc"}, "base_url"),
        ({"name": "x", "kind": "echo", "credential_ref": "sk-pasted"}, "credential_ref"),
        ({"name": "x", "kind": "echo", "timeout_s": 0}, "timeout_s"),
        ({"name": "x", "kind": "echo", "timeout_s": 10**12}, "timeout_s"),
        ({"name": "X Y", "kind": "echo"}, "name"),
        ({"name": "x", "kind": "echo", "is_enabled": "yes"}, "is_enabled"),
        ({"name": "x", "kind": "echo", "credential": ""}, "credential"),
    ],
)
def test_a_bad_provider_is_422_naming_the_field(client, writer, data, field, store_snapshot):
    before = store_snapshot()
    response = client.post("/api/providers", data, content_type=JSON, **writer)

    assert response.status_code == 422, response.content
    assert field in _fields(response)
    assert store_snapshot() == before


@pytest.mark.parametrize(
    "field", [*PROTECTED, "health_latency_ms", "health_checked_at", "credential_set_at"]
)
def test_provider_writes_with_protected_fields_are_422_and_change_nothing(
    client, writer, field, store_snapshot
):
    before = store_snapshot()
    create = client.post(
        "/api/providers", {"name": "x", "kind": "echo", field: "x"}, content_type=JSON, **writer
    )
    patch = client.patch(
        "/api/providers/openai", {"timeout_s": 5, field: "x"}, content_type=JSON, **writer
    )

    assert (create.status_code, patch.status_code) == (422, 422)
    assert field in _fields(create) and _fields(patch) == [field]
    assert store_snapshot() == before


def test_it_changes_a_provider(client, writer):
    response = client.patch(
        "/api/providers/anthropic",
        {"timeout_s": 15, "is_enabled": False},
        content_type=JSON,
        **writer,
    )

    assert response.status_code == 200, response.content
    row = _provider_row("anthropic")
    assert (row["timeout_s"], row["is_enabled"]) == (15, False)
    assert response.json()["timeout_s"] == 15


def test_provider_writes_need_the_write_scope(client, reader, store_snapshot):
    before = store_snapshot()
    answers = [
        client.post("/api/providers", {"name": "x", "kind": "echo"}, content_type=JSON, **reader),
        client.patch("/api/providers/openai", {"timeout_s": 5}, content_type=JSON, **reader),
        client.delete("/api/providers/openai", **reader),
    ]

    assert [a.status_code for a in answers] == [403] * 3
    assert store_snapshot() == before


def test_it_deletes_an_unused_provider(client, writer):
    Provider.objects.create(name="spare", kind="echo")

    response = client.delete("/api/providers/spare", **writer)

    assert response.status_code == 204
    assert not Provider.objects.filter(name="spare").exists()


def test_deleting_a_provider_in_use_is_409_naming_the_users(client, writer, store_snapshot):
    before = store_snapshot()
    response = client.delete("/api/providers/openai", **writer)

    assert response.status_code == 409
    assert "persona scene_smith" in _error(response)["message"]
    assert store_snapshot() == before


# ---- credentials: write-only ----------------------------------------------------------


def test_a_credential_is_stored_encrypted_and_never_shown(client, writer):
    patched = client.patch(
        "/api/providers/anthropic", {"credential": SECRET}, content_type=JSON, **writer
    )
    answers = [
        patched,
        client.get("/api/providers/anthropic", **writer),
        client.get("/api/providers", **writer),
        client.patch("/api/providers/anthropic", {"timeout_s": 20}, content_type=JSON, **writer),
    ]

    row = _provider_row("anthropic")
    assert decrypt(row["credential_encrypted"]) == SECRET
    for answer in answers:
        assert answer.status_code == 200, answer.content
        assert SECRET.encode() not in answer.content
        assert row["credential_encrypted"].encode() not in answer.content
    assert patched.json()["has_stored_credential"] is True
    assert patched.json()["credential_set_at"] is not None


def test_a_credential_can_be_given_on_creation(client, writer):
    data = {
        "name": "groq",
        "kind": "openai",
        "base_url": "https://9.9.9.9/v1",
        "credential": SECRET,
    }
    response = client.post("/api/providers", data, content_type=JSON, **writer)

    assert response.status_code == 201
    assert SECRET.encode() not in response.content
    assert decrypt(_provider_row("groq")["credential_encrypted"]) == SECRET


def test_a_null_credential_removes_the_stored_one(client, writer):
    client.patch("/api/providers/anthropic", {"credential": SECRET}, content_type=JSON, **writer)

    response = client.patch(
        "/api/providers/anthropic", {"credential": None}, content_type=JSON, **writer
    )

    assert response.json()["has_stored_credential"] is False
    row = _provider_row("anthropic")
    assert (row["credential_encrypted"], row["credential_set_at"]) == ("", None)


def test_a_new_base_url_without_a_new_credential_drops_the_stored_one(client, writer):
    client.patch("/api/providers/anthropic", {"credential": SECRET}, content_type=JSON, **writer)

    response = client.patch(
        "/api/providers/anthropic", {"base_url": "https://9.9.9.9"}, content_type=JSON, **writer
    )

    assert response.status_code == 200
    assert response.json()["has_stored_credential"] is False
    assert _provider_row("anthropic")["credential_encrypted"] == ""


def test_a_new_base_url_with_a_new_credential_keeps_the_new_one(client, writer):
    client.patch(
        "/api/providers/anthropic", {"credential": "old-secret-value"}, content_type=JSON, **writer
    )

    data = {"base_url": "https://9.9.9.9", "credential": SECRET}
    response = client.patch("/api/providers/anthropic", data, content_type=JSON, **writer)

    assert response.json()["has_stored_credential"] is True
    assert decrypt(_provider_row("anthropic")["credential_encrypted"]) == SECRET


def test_a_refused_write_does_not_store_the_credential(client, writer):
    data = {"credential": SECRET, "base_url": "http://10.0.0.1"}
    response = client.patch("/api/providers/anthropic", data, content_type=JSON, **writer)

    assert response.status_code == 422
    assert SECRET.encode() not in response.content
    assert _provider_row("anthropic")["credential_encrypted"] == ""


# ---- private networks: superusers only ------------------------------------------------


def test_a_key_cannot_allow_private_networks(client, writer, store_snapshot):
    before = store_snapshot()
    data = {"allow_private_network": True, "base_url": "http://10.0.0.5"}
    response = client.patch("/api/providers/anthropic", data, content_type=JSON, **writer)

    assert response.status_code == 403
    assert _error(response)["field"] == "allow_private_network"
    assert store_snapshot() == before


def test_a_non_superuser_staff_cannot_allow_private_networks(staff_client):
    data = {
        "name": "local",
        "kind": "ollama",
        "base_url": "http://10.0.0.5:11434",
        "allow_private_network": True,
    }
    response = staff_client.post("/api/providers", data, content_type=JSON)

    assert response.status_code == 403
    assert _error(response)["field"] == "allow_private_network"
    assert not Provider.objects.filter(name="local").exists()


def test_a_superuser_session_can_allow_private_networks(admin_client, store):
    data = {
        "name": "local",
        "kind": "ollama",
        "base_url": "http://10.0.0.5:11434",
        "allow_private_network": True,
    }
    response = admin_client.post("/api/providers", data, content_type=JSON)

    assert response.status_code == 201, response.content
    assert Provider.objects.get(name="local").allow_private_network is True


def test_others_cannot_move_a_private_provider_to_another_private_host(
    client, writer, staff_client
):
    Provider.objects.create(
        name="local", kind="ollama", base_url="http://10.0.0.5:11434", allow_private_network=True
    )

    by_key = client.patch(
        "/api/providers/local", {"base_url": "http://169.254.169.254"}, content_type=JSON, **writer
    )
    by_staff = staff_client.patch(
        "/api/providers/local", {"base_url": "http://127.0.0.1:80"}, content_type=JSON
    )
    public = client.patch("/api/providers/local", {"timeout_s": 9}, content_type=JSON, **writer)

    assert (by_key.status_code, by_staff.status_code) == (403, 403)
    assert _error(by_key)["field"] == "base_url"
    assert public.status_code == 200  # other fields still change
    row = _provider_row("local")
    assert (row["base_url"], row["timeout_s"]) == ("http://10.0.0.5:11434", 9)


# ---- models ---------------------------------------------------------------------------


def test_it_lists_models_with_capabilities_as_words(client, reader):
    response = client.get("/api/models", **reader)

    assert response.status_code == 200
    items = {m["handle"]: m for m in response.json()["items"]}
    assert set(items) == {
        "anthropic:claude-sonnet-4",
        "echo:echo",
        "echo:echo-image",
        "openai:gpt-4o",
        "openai:gpt-4o-mini",
    }
    gpt = items["openai:gpt-4o"]
    assert gpt["capabilities"] == {"reasoning": "strong"}
    assert (gpt["provider"], gpt["name"], gpt["context_window"]) == ("openai", "gpt-4o", 128000)
    assert gpt["input_price"] == "2.500000" and gpt["is_enabled"] is True


def test_it_lists_models_with_a_fixed_number_of_queries(
    client, reader, store, django_assert_num_queries
):
    for n in range(5):
        ModelCapability.objects.create(
            model=Model.objects.create(provider=store.echo, name=f"m{n}"),
            capability=store.reasoning,
            strength=2,
        )
    client.get("/api/models", **reader)  # the key's scopes are cached from now on
    # count; models with their provider; capability links with their capability
    with django_assert_num_queries(3):
        client.get("/api/models", **reader)


@pytest.mark.parametrize(
    ("query", "handles"),
    [
        ("capability=reasoning", ["echo:x", "openai:gpt-4o"]),
        ("capability=reasoning&min_strength=strong", ["openai:gpt-4o"]),
        ("capability=reasoning&min_strength=exceptional", []),
        ("capability=reasoning&min_strength=none", ["echo:none", "echo:x", "openai:gpt-4o"]),
        ("capability=nothing", []),
        ("modality=image", ["echo:echo-image"]),
        ("provider=anthropic", ["anthropic:claude-sonnet-4"]),
        ("provider=ant", ["anthropic:claude-sonnet-4"]),
        ("provider=nowhere", []),
        ("enabled=false", ["echo:off"]),
    ],
)
def test_it_filters_models(client, reader, store, query, handles):
    store.anthropic.aliases = ["ant"]
    store.anthropic.save()
    ModelCapability.objects.create(
        model=Model.objects.create(provider=store.echo, name="x"),
        capability=store.reasoning,
        strength=1,
    )
    ModelCapability.objects.create(
        model=Model.objects.create(provider=store.echo, name="none"),
        capability=store.reasoning,
        strength=0,
    )
    Model.objects.create(provider=store.echo, name="off", is_enabled=False)

    response = client.get(f"/api/models?{query}", **reader)

    assert response.status_code == 200, response.content
    assert sorted(m["handle"] for m in response.json()["items"]) == handles


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("capability=reasoning&min_strength=huge", "min_strength"),
        ("min_strength=strong", "min_strength"),
        ("modality=smell", "modality"),
    ],
)
def test_bad_model_filters_are_422_naming_the_field(client, reader, query, field):
    response = client.get(f"/api/models?{query}", **reader)

    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_it_creates_a_model_whose_name_has_a_slash(client, writer):
    data = {
        "provider": "openai",
        "name": "google/gemma-3-12b",
        "context_window": 8192,
        "input_price": "0.1",
        "capabilities": {"reasoning": "basic"},
    }
    created = client.post("/api/models", data, content_type=JSON, **writer)
    read = client.get("/api/models/openai/google/gemma-3-12b", **writer)

    assert created.status_code == 201, created.content
    assert read.status_code == 200
    assert read.json()["handle"] == "openai:google/gemma-3-12b"
    assert read.json()["capabilities"] == {"reasoning": "basic"}
    assert read.json()["input_price"] == "0.100000"


def test_it_changes_and_deletes_a_model_whose_name_has_a_slash(client, writer, store):
    Model.objects.create(provider=store.openai, name="meta/llama-3")

    patched = client.patch(
        "/api/models/openai/meta/llama-3",
        {"max_output_tokens": 4096, "weight": 3},
        content_type=JSON,
        **writer,
    )
    deleted = client.delete("/api/models/openai/meta/llama-3", **writer)

    assert patched.status_code == 200, patched.content
    assert (patched.json()["max_output_tokens"], patched.json()["weight"]) == (4096, 3)
    assert deleted.status_code == 204
    assert not Model.objects.filter(name="meta/llama-3").exists()


def test_it_reads_a_model_through_a_provider_alias(client, reader, store):
    store.openai.aliases = ["oa"]
    store.openai.save()

    response = client.get("/api/models/oa/gpt-4o", **reader)

    assert response.status_code == 200
    assert response.json()["handle"] == "openai:gpt-4o"


def test_an_unknown_model_is_404(client, writer):
    urls = (
        "/api/models/openai/gpt-9",
        "/api/models/nowhere/gpt-4o",
        "/api/models/openai/a/b",
        "/api/models/openai/a%0Ab",  # Django's own `path` converter would not match a newline
    )
    for url in urls:
        assert client.get(url, **writer).json()["error"]["code"] == "not_found"
        assert client.patch(url, {}, content_type=JSON, **writer).status_code == 404
        assert client.delete(url, **writer).status_code == 404


def test_an_existing_model_is_409(client, writer, store, store_snapshot):
    store.openai.aliases = ["oa"]
    store.openai.save()
    before = store_snapshot()

    for provider in ("openai", "oa"):
        data = {"provider": provider, "name": "gpt-4o", "context_window": 1}
        response = client.post("/api/models", data, content_type=JSON, **writer)
        assert response.status_code == 409
    assert store_snapshot() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"provider": "nowhere", "name": "m"}, "provider"),
        ({"provider": "openai", "name": "has space"}, "name"),
        ({"provider": "openai", "name": "m", "modality": "image"}, "modality"),
        ({"provider": "openai", "name": "m", "input_price": -1}, "input_price"),
        ({"provider": "openai", "name": "m", "input_price": "lots"}, "input_price"),
        (
            {"provider": "openai", "name": "m", "capabilities": {"nothing": "strong"}},
            "capabilities.nothing",
        ),
        (
            {"provider": "openai", "name": "m", "capabilities": {"reasoning": "godlike"}},
            "capabilities.reasoning",
        ),
        (
            {"provider": "openai", "name": "m", "default_params": {"temperature": 7}},
            "default_params.temperature",
        ),
        ({"provider": "openai", "name": "m", "retry_delay_s": -1}, "retry_delay_s"),
        ({"provider": "openai", "name": "m", "max_retries": 10**9}, "max_retries"),
    ],
)
def test_a_bad_model_is_422_naming_the_field(client, writer, data, field, store_snapshot):
    before = store_snapshot()
    response = client.post("/api/models", data, content_type=JSON, **writer)

    assert response.status_code == 422, response.content
    assert field in _fields(response)
    assert store_snapshot() == before


@pytest.mark.parametrize("field", [*PROTECTED, "handle", "provider_id"])
def test_model_writes_with_protected_fields_are_422_and_change_nothing(
    client, writer, field, store_snapshot
):
    before = store_snapshot()
    create = client.post(
        "/api/models", {"provider": "openai", "name": "m", field: "x"}, content_type=JSON, **writer
    )
    patch = client.patch(
        "/api/models/openai/gpt-4o", {"weight": 2, field: "x"}, content_type=JSON, **writer
    )

    assert (create.status_code, patch.status_code) == (422, 422)
    assert _fields(patch) == [field]
    assert store_snapshot() == before


def test_model_writes_need_the_write_scope(client, reader, store_snapshot):
    before = store_snapshot()
    answers = [
        client.post(
            "/api/models", {"provider": "openai", "name": "m"}, content_type=JSON, **reader
        ),
        client.patch("/api/models/openai/gpt-4o", {"weight": 2}, content_type=JSON, **reader),
        client.delete("/api/models/openai/gpt-4o", **reader),
    ]

    assert [a.status_code for a in answers] == [403] * 3
    assert store_snapshot() == before


def test_deleting_a_model_in_use_is_409(client, writer, store_snapshot):
    before = store_snapshot()
    response = client.delete("/api/models/openai/gpt-4o", **writer)

    assert response.status_code == 409
    assert "task response" in _error(response)["message"]
    assert store_snapshot() == before


# ---- capabilities ---------------------------------------------------------------------


def test_capabilities_round_trip(client, writer, reader):
    created = client.post(
        "/api/capabilities",
        {"name": "vision", "category": "operational", "description": "sees"},
        content_type=JSON,
        **writer,
    )
    patched = client.patch(
        "/api/capabilities/vision", {"description": "reads images"}, content_type=JSON, **writer
    )
    listed = client.get("/api/capabilities", **reader)
    read = client.get("/api/capabilities/vision", **reader)
    deleted = client.delete("/api/capabilities/vision", **writer)

    assert (created.status_code, patched.status_code, read.status_code) == (201, 200, 200)
    assert read.json() == {
        "name": "vision",
        "category": "operational",
        "description": "reads images",
    }
    assert [c["name"] for c in listed.json()["items"]] == ["vision", "reasoning"]
    assert deleted.status_code == 204
    assert not Capability.objects.filter(name="vision").exists()


def test_capability_errors(client, writer, reader, store_snapshot):
    before = store_snapshot()

    assert client.get("/api/capabilities/nothing", **reader).status_code == 404
    assert client.delete("/api/capabilities/nothing", **writer).status_code == 404
    duplicate = client.post("/api/capabilities", {"name": "reasoning"}, content_type=JSON, **writer)
    bad = client.post(
        "/api/capabilities", {"name": "x", "category": "magic"}, content_type=JSON, **writer
    )
    extra = client.patch("/api/capabilities/reasoning", {"id": 3}, content_type=JSON, **writer)
    unwritable = client.post("/api/capabilities", {"name": "x"}, content_type=JSON, **reader)
    in_use = client.delete("/api/capabilities/reasoning", **writer)  # task response requires it

    assert (duplicate.status_code, bad.status_code, extra.status_code) == (409, 422, 422)
    assert (_error(bad)["field"], _error(extra)["field"]) == ("category", "id")
    assert (unwritable.status_code, in_use.status_code) == (403, 409)
    assert store_snapshot() == before


# ---- staff sessions -------------------------------------------------------------------


def test_a_staff_session_can_write_the_catalog(staff_client):
    response = staff_client.post("/api/capabilities", {"name": "vision"}, content_type=JSON)

    assert response.status_code == 201


def test_a_staff_post_without_csrf_token_is_403(store, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post("/api/capabilities", {"name": "vision"}, content_type=JSON)

    assert response.status_code == 403
    assert not Capability.objects.filter(name="vision").exists()


def test_moving_a_provider_needs_its_credential_reference_again(client, writer, store):
    """RELIABILITY.md required test 27, for environment references: the key never follows
    the provider to a host it was not named for."""
    moved = {"base_url": "https://9.9.9.9/v1"}
    refused = client.patch("/api/providers/openai", moved, content_type=JSON, **writer)
    assert refused.status_code == 422
    assert refused.json()["error"]["errors"][0]["field"] == "credential_ref"
    store.openai.refresh_from_db()
    assert store.openai.base_url == "https://8.8.8.8/v1"
    again = client.patch(
        "/api/providers/openai", {**moved, "credential_ref": "${OPENAI_API_KEY}"}, content_type=JSON, **writer
    )
    assert again.status_code == 200, again.content
