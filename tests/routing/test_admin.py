from __future__ import annotations

import re
import socket

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from qfweb.crypto import decrypt
from routing.models import Generation, Model, Provider, Task, TaskFallback

pytestmark = pytest.mark.django_db

SECRET = "sk-test-AbCdEfGhIjKlMnOpQrStUv0123456789"


@pytest.fixture(autouse=True)
def _offline_dns(monkeypatch):
    """Base URL validation resolves host names; tests must not reach a DNS server."""

    def fake_getaddrinfo(host, *args, **kwargs):
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            raise socket.gaierror(f"offline test: {host} not resolved") from None
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, 0))]

    monkeypatch.setattr("routing.urlsafety.socket.getaddrinfo", fake_getaddrinfo)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_it_serves_every_admin_page(admin_client, admin_user, store):
    for model, model_admin in admin.site._registry.items():
        assert admin_client.get(url(model, "changelist")).status_code == 200, model
        request = admin_client.get("/").wsgi_request
        request.user = admin_user
        if model_admin.has_add_permission(request):
            assert admin_client.get(url(model, "add")).status_code == 200, model
        obj = model._default_manager.first()
        assert obj is not None, f"the store fixture has no {model.__name__}"
        assert admin_client.get(url(model, "change", obj.pk)).status_code == 200, model
        assert admin_client.get(url(model, "history", obj.pk)).status_code == 200, model


def test_it_searches_and_filters_every_changelist(admin_client, store):
    for model, model_admin in admin.site._registry.items():
        if model_admin.search_fields:
            response = admin_client.get(url(model, "changelist"), {"q": "o"})
            assert response.status_code == 200, model
        response = admin_client.get(url(model, "changelist"))
        for spec in response.context["cl"].filter_specs:
            choices = [c for c in spec.choices(response.context["cl"]) if not c["selected"]]
            if choices:
                filtered = admin_client.get(url(model, "changelist") + choices[-1]["query_string"])
                assert filtered.status_code == 200, (model, choices[-1]["query_string"])
                assert "cl" in filtered.context, (model, choices[-1]["query_string"])


def _changelist_queries(client, model) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(model, "changelist")).status_code == 200
    return len(captured)


def _more_models(store, n: int) -> None:
    provider = Provider.objects.create(name=f"p{n}", kind="echo")
    Model.objects.bulk_create(Model(provider=provider, name=f"m{i}") for i in range(n))


def _more_generations(store, n: int) -> None:
    Generation.objects.bulk_create(
        Generation(
            persona_slug=f"p{i}",
            served_model=store.gpt4o if i % 2 else store.claude,
            served_handle="x",
            status="ok",
        )
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("model", "grow"), [(Model, _more_models), (Generation, _more_generations)]
)
def test_it_lists_with_a_fixed_number_of_queries(admin_client, store, model, grow):
    grow(store, 2)
    few = _changelist_queries(admin_client, model)
    grow(store, 20)
    assert _changelist_queries(admin_client, model) == few


def _provider_page(client, provider):
    return client.get(url(Provider, "change", provider.pk))


def test_it_stores_a_provider_secret_encrypted_and_never_shows_it(admin_client, store, form_data):
    data = form_data(_provider_page(admin_client, store.openai))
    data["secret"] = SECRET
    response = admin_client.post(url(Provider, "change", store.openai.pk), data)
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )

    store.openai.refresh_from_db()
    token = store.openai.credential_encrypted
    assert token and SECRET not in token
    assert decrypt(token) == SECRET
    assert store.openai.credential_set_at is not None
    for page in (
        url(Provider, "change", store.openai.pk),
        url(Provider, "changelist"),
        url(Provider, "history", store.openai.pk),
    ):
        body = admin_client.get(page).content.decode()
        assert SECRET not in body and token not in body, page
    assert "set on " in _provider_page(admin_client, store.openai).content.decode()
    assert SECRET not in str(LogEntry.objects.values_list("change_message", flat=True))


def test_it_keeps_the_secret_when_the_field_is_left_blank(admin_client, store, form_data):
    Provider.objects.filter(pk=store.openai.pk).update(credential_encrypted="token-before")
    data = form_data(_provider_page(admin_client, store.openai))
    data["timeout_s"] = "30"
    assert admin_client.post(url(Provider, "change", store.openai.pk), data).status_code == 302
    store.openai.refresh_from_db()
    assert store.openai.credential_encrypted == "token-before"
    assert store.openai.timeout_s == 30


def test_it_clears_the_secret_when_asked(admin_client, store, form_data):
    Provider.objects.filter(pk=store.openai.pk).update(credential_encrypted="token-before")
    data = form_data(_provider_page(admin_client, store.openai))
    data["clear_secret"] = "on"
    assert admin_client.post(url(Provider, "change", store.openai.pk), data).status_code == 302
    store.openai.refresh_from_db()
    assert store.openai.credential_encrypted == "" and store.openai.credential_set_at is None


def test_it_rejects_a_new_secret_and_clear_together(admin_client, store, form_data):
    data = form_data(_provider_page(admin_client, store.openai))
    data.update(secret=SECRET, clear_secret="on")
    response = admin_client.post(url(Provider, "change", store.openai.pk), data)
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert SECRET not in response.content.decode()  # render_value=False
    store.openai.refresh_from_db()
    assert store.openai.credential_encrypted == ""


def test_it_clears_the_stored_secret_when_the_base_url_changes(admin_client, store, form_data):
    Provider.objects.filter(pk=store.openai.pk).update(credential_encrypted="token-before")
    data = form_data(_provider_page(admin_client, store.openai))
    data["base_url"] = "https://8.8.4.4/v1"
    response = admin_client.post(url(Provider, "change", store.openai.pk), data, follow=True)
    store.openai.refresh_from_db()
    assert store.openai.base_url == "https://8.8.4.4/v1"
    assert store.openai.credential_encrypted == ""
    assert "stored secret was cleared" in response.content.decode()
    assert "${OPENAI_API_KEY} will now be sent to https://8.8.4.4/v1" in response.content.decode()


def test_it_keeps_a_secret_entered_with_the_new_base_url(admin_client, store, form_data):
    Provider.objects.filter(pk=store.openai.pk).update(credential_encrypted="token-before")
    data = form_data(_provider_page(admin_client, store.openai))
    data.update(base_url="https://8.8.4.4/v1", secret=SECRET)
    assert admin_client.post(url(Provider, "change", store.openai.pk), data).status_code == 302
    store.openai.refresh_from_db()
    assert decrypt(store.openai.credential_encrypted) == SECRET


def test_it_shows_a_private_base_url_as_a_form_error(admin_client, store, form_data):
    data = form_data(_provider_page(admin_client, store.openai))
    data["base_url"] = "http://169.254.169.254/"
    response = admin_client.post(url(Provider, "change", store.openai.pk), data)
    assert response.status_code == 200
    assert "private address" in str(response.context["adminform"].form.errors["base_url"])
    store.openai.refresh_from_db()
    assert store.openai.base_url == "https://8.8.8.8/v1"


@pytest.fixture
def staff_client(client, db):
    """A staff user with every routing permission, but not a superuser."""
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["routing", "personas"])
    )
    client.force_login(user)
    return client


def test_it_lets_only_superusers_allow_private_networks(staff_client, store, form_data):
    page = staff_client.get(url(Provider, "change", store.openai.pk))
    assert "allow_private_network" not in page.context["adminform"].form.fields
    data = form_data(page)
    data.update(base_url="http://127.0.0.1:11434", allow_private_network="on")
    response = staff_client.post(url(Provider, "change", store.openai.pk), data)
    assert response.status_code == 200
    assert "private address" in response.content.decode()
    store.openai.refresh_from_db()
    assert store.openai.allow_private_network is False


def test_it_keeps_staff_from_moving_a_private_network_provider(staff_client, store, form_data):
    Provider.objects.filter(pk=store.openai.pk).update(
        base_url="http://127.0.0.1:11434", allow_private_network=True
    )
    data = form_data(staff_client.get(url(Provider, "change", store.openai.pk)))
    data["base_url"] = "http://169.254.169.254/"
    response = staff_client.post(url(Provider, "change", store.openai.pk), data)
    assert response.status_code == 200
    assert "only a superuser may set a private address" in response.content.decode()
    data["base_url"] = "https://8.8.8.8/v1"  # a public address is fine
    assert staff_client.post(url(Provider, "change", store.openai.pk), data).status_code == 302


def test_it_lets_a_superuser_set_a_private_address(admin_client, store, form_data):
    data = form_data(_provider_page(admin_client, store.openai))
    data.update(base_url="http://127.0.0.1:11434", allow_private_network="on")
    assert admin_client.post(url(Provider, "change", store.openai.pk), data).status_code == 302
    store.openai.refresh_from_db()
    assert store.openai.allow_private_network and store.openai.base_url == "http://127.0.0.1:11434"


def test_it_shows_model_clean_errors_as_form_errors(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Model, "change", store.gpt4o.pk)))
    data.update(modality="image", default_params='{"temperature": 9}')
    response = admin_client.post(url(Model, "change", store.gpt4o.pk), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not serve image" in str(errors["modality"])
    store.gpt4o.refresh_from_db()
    assert store.gpt4o.modality == "text"


def test_it_refuses_to_delete_a_model_in_use_and_names_its_users(admin_client, store):
    response = admin_client.post(url(Model, "delete", store.claude.pk), {"post": "yes"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "persona scene_smith" in body
    assert "task response fallback #1: anthropic:claude-sonnet-4" in body
    assert Model.objects.filter(pk=store.claude.pk).exists()
    body = admin_client.post(url(Model, "delete", store.gpt4o.pk), {"post": "yes"}).content.decode()
    text = re.sub(r"<[^>]+>", "", body)  # the protected objects are links to their pages
    assert "would require deleting the following protected related objects" in text
    assert "Persona: persona scene_smith" in text and "Task: response" in text
    assert Model.objects.filter(pk=store.gpt4o.pk).exists()


def test_it_refuses_to_delete_a_provider_in_use(admin_client, store):
    response = admin_client.post(url(Provider, "delete", store.openai.pk), {"post": "yes"})
    assert response.status_code == 200
    assert "persona scene_smith" in response.content.decode()
    assert Provider.objects.filter(pk=store.openai.pk).exists()
    assert Model.objects.filter(pk=store.gpt4o.pk).exists()


def test_it_swaps_task_fallback_positions_in_one_save(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Task, "change", store.task.pk)))
    data["fallbacks-0-position"], data["fallbacks-1-position"] = "2", "1"
    response = admin_client.post(url(Task, "change", store.task.pk), data)
    assert response.status_code == 302
    chain = list(TaskFallback.objects.filter(task=store.task).values_list("model__name", flat=True))
    assert chain == ["echo", "claude-sonnet-4"]


def test_it_rejects_a_duplicate_fallback_position(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Task, "change", store.task.pk)))
    data["fallbacks-1-position"] = "1"
    response = admin_client.post(url(Task, "change", store.task.pk), data)
    assert response.status_code == 200
    chain = list(TaskFallback.objects.filter(task=store.task).values_list("position", flat=True))
    assert chain == [1, 2]


def test_it_rejects_a_fallback_of_another_modality(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Task, "change", store.task.pk)))
    data["fallbacks-1-model"] = str(store.echo_image.pk)
    response = admin_client.post(url(Task, "change", store.task.pk), data)
    assert response.status_code == 200
    assert "echo:echo-image is a image model; this is text" in response.content.decode()


def test_it_keeps_gateway_records_read_only(staff_client, admin_client, store, form_data):
    generation_url = url(Generation, "change", store.generation.pk)
    assert admin_client.get(url(Generation, "add")).status_code == 403
    page = admin_client.get(generation_url)
    assert "upstream unavailable" in page.content.decode()  # attempts inline, error text shown
    assert admin_client.post(generation_url, {"status": "failed"}).status_code == 403
    assert (
        staff_client.post(
            url(Generation, "delete", store.generation.pk), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            url(Generation, "delete", store.generation.pk), {"post": "yes"}
        ).status_code
        == 302
    )
    assert not Generation.objects.exists()


def test_it_saves_an_emptied_json_box_as_empty(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Task, "change", store.task.pk)))
    data["default_params"] = ""
    assert admin_client.post(url(Task, "change", store.task.pk), data).status_code == 302
    store.task.refresh_from_db()
    assert store.task.default_params == {}


def test_it_stores_a_secret_given_when_adding_a_provider(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Provider, "add")))
    data.update(name="groq", kind="openai", base_url="https://8.8.8.8/openai/v1", secret=SECRET)
    response = admin_client.post(url(Provider, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert decrypt(Provider.objects.get(name="groq").credential_encrypted) == SECRET


def test_it_swaps_two_model_names_on_the_provider_page(admin_client, store, form_data):
    data = form_data(_provider_page(admin_client, store.openai))
    names = {data[f"models-{i}-name"]: i for i in range(2)}
    data[f"models-{names['gpt-4o']}-name"], data[f"models-{names['gpt-4o-mini']}-name"] = (
        "gpt-4o-mini",
        "gpt-4o",
    )
    assert admin_client.post(url(Provider, "change", store.openai.pk), data).status_code == 302
    store.gpt4o.refresh_from_db()
    assert store.gpt4o.name == "gpt-4o-mini"


def test_it_shows_a_clean_error_about_a_field_the_inline_leaves_out(admin_client, store, form_data):
    # default_params is not in the compact model inline; Django would raise ValueError.
    Model.objects.filter(pk=store.gpt4o.pk).update(default_params={"temperature": 9})
    data = form_data(_provider_page(admin_client, store.openai))
    response = admin_client.post(url(Provider, "change", store.openai.pk), data)
    assert response.status_code == 200
    assert "default params: temperature: must be between 0 and 2" in response.content.decode()


@pytest.mark.parametrize(
    ("model", "changes", "field", "message"),
    [
        (Model, {"input_price": "-1"}, "input_price", "greater than or equal to 0"),
        (Model, {"param_map": '{"max_tokens": 5}'}, "param_map", "must map parameter names"),
        (Provider, {"timeout_s": "0"}, "timeout_s", "greater than or equal to 1"),
        (Provider, {"aliases": '["Not Valid"]'}, "aliases", "is not a valid name"),
        (Task, {"default_params": '{"width": 512}'}, "default_params", "is not a parameter for text"),
    ],
)
def test_it_shows_field_errors_instead_of_failing(
    admin_client, store, form_data, model, changes, field, message
):
    obj = {Model: store.gpt4o, Provider: store.openai, Task: store.task}[model]
    data = form_data(admin_client.get(url(model, "change", obj.pk)))
    data.update(changes)
    response = admin_client.post(url(model, "change", obj.pk), data)
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])


def test_it_rejects_a_default_of_the_wrong_modality(admin_client, store, form_data):
    from routing.models import Default

    data = form_data(admin_client.get(url(Default, "change", store.default.pk)))
    data["model"] = str(store.echo_image.pk)
    response = admin_client.post(url(Default, "change", store.default.pk), data)
    assert "echo:echo-image is a image model" in str(
        response.context["adminform"].form.errors["model"]
    )
    store.default.refresh_from_db()
    assert store.default.model == store.echo_text


def test_it_rejects_an_alias_another_provider_already_answers_to(admin_client, store, form_data):
    Provider.objects.filter(pk=store.echo.pk).update(aliases=["offline"])
    data = form_data(_provider_page(admin_client, store.openai))
    data["aliases"] = '["offline"]'
    response = admin_client.post(url(Provider, "change", store.openai.pk), data)
    errors = response.context["adminform"].form.errors
    assert errors["aliases"] == ["'offline' is already the name or an alias of echo"]
    data["aliases"] = '["anthropic"]'
    response = admin_client.post(url(Provider, "change", store.openai.pk), data)
    errors = response.context["adminform"].form.errors
    assert errors["aliases"] == ["'anthropic' is already the name or an alias of anthropic"]
    store.openai.refresh_from_db()
    assert store.openai.aliases == []
