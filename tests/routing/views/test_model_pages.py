"""The model pages: the filtered list, and one model's prices, limits and capabilities edited
through routing.services.model_upsert, with row buttons that work without JavaScript."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from routing.choices import Strength
from routing.models import Capability, Model, ModelCapability, Provider

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
LIST = "/models/"


@pytest.fixture
def catalog(db):
    code = Capability.objects.create(name="code")
    creative = Capability.objects.create(name="creative")
    Capability.objects.create(name="reasoning")
    openai = Provider.objects.create(name="openai", kind="openai", base_url="https://8.8.8.8/v1", aliases=["oai"])
    local = Provider.objects.create(name="local", kind="ollama", base_url="https://9.9.9.9")
    images = Provider.objects.create(name="dalle", kind="openai_images", base_url="https://8.8.8.8/v1")
    gpt = Model.objects.create(provider=openai, name="gpt-4o", display_name="GPT-4o", context_window=128_000,
                               max_output_tokens=16_384, input_price="2.5", output_price="10")
    mini = Model.objects.create(provider=openai, name="gpt-4o-mini", input_price="0.15", output_price="0.6", is_enabled=False)
    gemma = Model.objects.create(provider=local, name="google/gemma-3-12b", context_window=131_072)
    dalle = Model.objects.create(provider=images, name="dall-e-3", modality="image", image_price="0.04")
    ModelCapability.objects.create(model=gpt, capability=code, strength=Strength.STRONG)
    ModelCapability.objects.create(model=gpt, capability=creative, strength=Strength.MODERATE)
    ModelCapability.objects.create(model=mini, capability=code, strength=Strength.BASIC)
    return {"gpt": gpt, "mini": mini, "gemma": gemma, "dalle": dalle}


def url(handle: str) -> str:
    provider, name = handle.split(":", 1)
    return reverse("routing:model", args=[provider, name])


def handles(body: str) -> list[str]:
    return [m.handle for m in Model.objects.select_related("provider") if f'href="{url(m.handle)}"' in body]


def form(**changes) -> dict:
    """What the edit form of gpt-4o posts unchanged, with `changes`."""
    data = {
        "display_name": "GPT-4o", "context_window": "128000", "max_output_tokens": "16384", "weight": "1",
        "input_price": "2.5", "output_price": "10", "image_price": "", "char_price": "", "is_enabled": "on",
        "cap": ["code", "creative"], "strength": ["strong", "moderate"], "op": "save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# ---- access ---------------------------------------------------------------------------


def test_it_sends_anonymous_and_non_staff_users_to_the_login_page(client, django_user_model, catalog):
    for path in (LIST, url("openai:gpt-4o")):
        assert client.get(path)["Location"].startswith("/login/")
        assert client.post(path, form(input_price="1"))["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("dev", password="x"))
    assert client.get(url("openai:gpt-4o"))["Location"].startswith("/login/")
    assert Model.objects.get(name="gpt-4o").input_price == Decimal("2.5")


def test_unknown_models_and_providers_are_404s_and_names_may_hold_slashes(admin_client, catalog):
    assert admin_client.get(url("openai:gpt-5")).status_code == 404
    assert admin_client.get(url("nobody:gpt-4o")).status_code == 404
    assert admin_client.get(url("openai:gpt\x00")).status_code == 400  # qfweb.pages refuses NUL
    page = admin_client.get(url("local:google/gemma-3-12b"))
    assert page.status_code == 200 and "Model local:google/gemma-3-12b" in page.content.decode()
    assert url("local:google/gemma-3-12b") == "/models/local/google/gemma-3-12b/"
    assert admin_client.get(url("oai:gpt-4o")).status_code == 200  # an alias, as in handles


# ---- the list -------------------------------------------------------------------------


def test_the_list_shows_limits_the_prices_that_apply_capabilities_and_enabled(admin_client, catalog):
    body = admin_client.get(LIST).content.decode()
    assert handles(body) == ["dalle:dall-e-3", "local:google/gemma-3-12b", "openai:gpt-4o", "openai:gpt-4o-mini"]
    assert "in 2.5 · out 10 $/1M tokens" in body and "0.04 $/image" in body
    assert "code: strong, creative: moderate" in body and "code: basic" in body
    assert "128000" in body and "16384" in body
    assert '<span class="badge disabled">disabled</span>' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("provider=openai", ["openai:gpt-4o", "openai:gpt-4o-mini"]),
        ("modality=image", ["dalle:dall-e-3"]),
        ("capability=code", ["openai:gpt-4o", "openai:gpt-4o-mini"]),
        ("capability=code&strength=strong", ["openai:gpt-4o"]),
        ("enabled=no", ["openai:gpt-4o-mini"]),
        ("q=gemma", ["local:google/gemma-3-12b"]),
        ("q=GPT-4o&enabled=yes", ["openai:gpt-4o"]),
        ("provider=nobody", []),
        # Values that cannot match are ignored, never a 500.
        ("modality=video&enabled=maybe&strength=huge&page=x", None),
    ],
)
def test_the_list_filters(admin_client, catalog, query, expected):
    response = admin_client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    found = handles(response.content.decode())
    assert found == (expected if expected is not None else handles(admin_client.get(LIST).content.decode()))


def test_an_htmx_request_gets_only_the_rows_and_pages_keep_the_filters(admin_client, catalog):
    for i in range(30):
        Model.objects.create(provider=Provider.objects.get(name="local"), name=f"m{i:02}")
    response = admin_client.get(f"{LIST}?provider=local", **HX)
    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="models" class="paged">')
    assert "Page 1 of 2" in body and "?provider=local&amp;page=2" in body


def test_the_list_pages_in_a_query_count_that_does_not_grow(admin_client, catalog):
    def make(count: int, start: int) -> None:
        provider = Provider.objects.get(name="local")
        caps = list(Capability.objects.all())
        for i in range(start, start + count):
            model = Model.objects.create(provider=provider, name=f"bulk-{i:03}", input_price="1")
            for cap in caps:
                ModelCapability.objects.create(model=model, capability=cap, strength=Strength.STRONG)

    def queries(query: str = "") -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(f"{LIST}?{query}").status_code == 200
        return len(captured)

    make(3, 0)
    few, filtered = queries(), queries("capability=code&q=bulk")
    make(40, 3)
    assert (queries(), queries("capability=code&q=bulk")) == (few, filtered)


# ---- one model ------------------------------------------------------------------------


def test_the_detail_shows_the_stored_values_in_the_form(admin_client, catalog):
    body = admin_client.get(url("openai:gpt-4o")).content.decode()
    assert 'name="input_price" inputmode="decimal" value="2.5"' in body
    assert 'name="context_window" inputmode="numeric" value="128000"' in body
    assert '<option value="code" selected>code</option>' in body
    assert '<option value="strong" selected>strong</option>' in body
    assert 'name="is_enabled" checked' in body


def test_saving_writes_prices_limits_and_strengths_through_the_service(admin_client, catalog):
    response = admin_client.post(
        url("openai:gpt-4o"),
        form(input_price="3.25", image_price="0.5", context_window="200000", weight="4",
             cap=["code", "reasoning"], strength=["exceptional", "basic"]),
        **HX,
    )
    assert response.status_code == 200
    assert "Saved openai:gpt-4o." in response["HX-Trigger"]
    gpt = Model.objects.get(name="gpt-4o")
    assert (gpt.input_price, gpt.image_price, gpt.context_window, gpt.weight) == (Decimal("3.25"), Decimal("0.5"), 200_000, 4)
    assert {mc.capability.name: mc.strength for mc in gpt.capabilities.all()} == {
        "code": Strength.EXCEPTIONAL, "reasoning": Strength.BASIC,
    }
    assert 'value="3.25"' in response.content.decode()

    response = admin_client.post(url("openai:gpt-4o"), form(is_enabled=None, output_price=""))
    assert response.status_code == 303 and response["Location"] == url("openai:gpt-4o")
    gpt.refresh_from_db()
    assert (gpt.is_enabled, gpt.output_price) == (False, None)


def test_row_buttons_change_the_form_but_store_nothing(admin_client, catalog):
    before = list(ModelCapability.objects.values_list("model__name", "capability__name", "strength"))

    added = admin_client.post(url("openai:gpt-4o"), form(op="add_cap", input_price="9"), **HX)
    body = added.content.decode()
    assert added.status_code == 200 and body.count('name="cap"') == 3 and "not saved yet" in body
    assert 'value="9"' in body  # what was typed stays

    removed = admin_client.post(url("openai:gpt-4o"), form(op="remove_cap:0"), **HX).content.decode()
    assert removed.count('name="cap"') == 1 and '<option value="creative" selected>' in removed
    assert admin_client.post(url("openai:gpt-4o"), form(op="remove_cap:99")).status_code == 200
    assert admin_client.post(url("openai:gpt-4o"), form(op="bogus")).status_code == 200

    assert list(ModelCapability.objects.values_list("model__name", "capability__name", "strength")) == before
    assert Model.objects.get(name="gpt-4o").input_price == Decimal("2.5")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"input_price": "cheap"}, "input_price", "must be a number"),
        ({"output_price": "-1"}, "output_price", "must not be negative"),
        ({"image_price": "NaN"}, "image_price", "must be a number"),
        ({"input_price": "0.0000001"}, "input_price", "decimal places"),
        ({"context_window": "3000000000"}, "context_window", "must be between 0 and 2147483647"),
        ({"weight": "40000"}, "weight", "must be between 0 and 32767"),
        ({"weight": ""}, "weight", "is required"),
        ({"cap": ["code", "code"], "strength": ["strong", "basic"]}, "capabilities", "is listed twice"),
        ({"cap": ["telepathy"], "strength": ["strong"]}, "capabilities", "unknown capability"),
        ({"cap": ["code"], "strength": ["mighty"]}, "capabilities", "unknown strength"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_written(admin_client, catalog, changes, field, message):
    before = (Model.objects.values().get(name="gpt-4o"), list(ModelCapability.objects.values()))
    response = admin_client.post(url("openai:gpt-4o"), form(**changes), **HX)

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    if field == "capabilities":
        assert 'name="cap" aria-label="Capability 1" aria-invalid="true"' in body
    else:
        assert f'name="{field}" inputmode=' in body and f'value="{changes[field]}" aria-invalid="true"' in body
    assert (Model.objects.values().get(name="gpt-4o"), list(ModelCapability.objects.values())) == before


def test_saving_needs_a_csrf_token(admin_user, catalog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(url("openai:gpt-4o"), form(input_price="1")).status_code == 403
    assert Model.objects.get(name="gpt-4o").input_price == Decimal("2.5")
