"""The provider pages: the list with live health, one provider with its credential's source
(never its value), its models, its health history, "check now" and its settings form."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from routing.models import HealthCheck, Model, Provider
from routing.services import provider_upsert

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
SECRET = "sk-page-secret-0123456789abcdef"


@pytest.fixture
def echo(db):
    provider = Provider.objects.create(name="echo", kind="echo")
    text = Model.objects.create(provider=provider, name="echo", modality="text")
    Model.objects.create(provider=provider, name="echo-image", modality="image")
    provider.default_model = text
    provider.save()
    return provider


@pytest.fixture
def openai(db):
    """An openai provider with a stored key and an environment reference."""
    provider = provider_upsert(
        name="openai",
        data={"kind": "openai", "base_url": "https://8.8.8.8/v1", "aliases": ["oai"]},
        secret=SECRET,
    ).obj
    Model.objects.create(provider=provider, name="gpt-4o", modality="text")
    Model.objects.create(provider=provider, name="gpt-4o-mini", modality="text")
    return provider


def detail(name: str) -> str:
    return reverse("routing:provider", args=[name])


# ---- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_and_non_staff_users_to_the_login_page(client, django_user_model, echo, method):
    paths = [reverse("routing:providers"), detail("echo"), reverse("routing:provider_check", args=["echo"])]
    for path in paths:
        assert getattr(client, method)(path)["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("dev", password="x"))
    for path in paths:
        assert getattr(client, method)(path)["Location"].startswith("/login/")
    assert not HealthCheck.objects.exists()


def test_an_unknown_provider_is_a_404_and_an_alias_finds_it(admin_client, openai):
    assert admin_client.get(detail("nope")).status_code == 404
    assert admin_client.post(reverse("routing:provider_check", args=["nope"])).status_code == 404
    assert admin_client.get(detail("nul\x00")).status_code == 400  # qfweb.pages refuses NUL
    response = admin_client.get(detail("oai"))
    assert response.status_code == 200 and "Provider openai" in response.content.decode()


# ---- the list -------------------------------------------------------------------------


def test_the_list_shows_kind_url_health_models_and_enabled(admin_client, echo, openai):
    Provider.objects.filter(name="openai").update(health_state="down", health_latency_ms=812, is_enabled=False)
    from django.utils import timezone

    Provider.objects.filter(name="echo").update(health_state="healthy", health_checked_at=timezone.now())

    page = admin_client.get(reverse("routing:providers")).content.decode()

    assert f'href="{detail("echo")}"' in page and f'href="{detail("openai")}"' in page
    assert "https://8.8.8.8/v1" in page
    assert '<span class="badge down">Down</span>' in page and "812 ms" in page
    assert '<span class="badge healthy">Healthy</span>' in page and "checked 0\xa0minutes ago" in page
    assert "never checked" in page
    assert '<span class="badge disabled">disabled</span>' in page
    assert '<td class="num">2</td>' in page  # each has two models
    assert 'hx-trigger="every 30s"' in page


def test_an_htmx_request_gets_only_the_table_which_keeps_polling(admin_client, echo):
    response = admin_client.get(reverse("routing:providers") + "?page=1", **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<div id="providers"')
    assert 'hx-get="/providers/?page=1"' in body and 'hx-trigger="every 30s"' in body
    assert "HX-Request" in response["Vary"]


def test_the_list_pages_in_a_query_count_that_does_not_grow(admin_client):
    def make(count: int, start: int) -> None:
        for i in range(start, start + count):
            provider = Provider.objects.create(name=f"p{i:03}", kind="echo")
            Model.objects.create(provider=provider, name="m", modality="text")
            HealthCheck.objects.create(provider=provider, is_ok=True, state="healthy")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse("routing:providers")).status_code == 200
        return len(captured)

    make(3, 0)
    few = queries()
    make(40, 3)
    assert queries() == few
    page = admin_client.get(reverse("routing:providers")).content.decode()
    assert "Page 1 of 2" in page and "p024" in page and "p025" not in page
    assert "p042" in admin_client.get(reverse("routing:providers") + "?page=2").content.decode()
    assert admin_client.get(reverse("routing:providers") + "?page=x%00").status_code == 400


# ---- one provider ---------------------------------------------------------------------


def test_the_detail_says_where_the_credential_comes_from_and_never_shows_it(admin_client, openai, echo):
    page = admin_client.get(detail("openai")).content.decode()
    assert "set (stored encrypted)" in page
    assert "gpt-4o-mini" in page and f'href="{reverse("routing:model", args=["openai", "gpt-4o"])}"' in page
    assert "oai" in page
    assert "not set" in admin_client.get(detail("echo")).content.decode()

    provider_upsert(name="openai", data={"credential_ref": "${OPENAI_API_KEY}"})
    page = admin_client.get(detail("openai")).content.decode()
    assert "from ${OPENAI_API_KEY} (a stored key is also set" in page
    everything = page + "".join(
        admin_client.get(path).content.decode()
        for path in [reverse("routing:providers"), reverse("routing:models"),
                     reverse("routing:model", args=["openai", "gpt-4o"])]
    )
    assert SECRET not in everything
    assert Provider.objects.get(name="openai").credential_encrypted not in everything


def test_the_health_history_is_newest_first_paged_and_escaped(admin_client, openai):
    for i in range(30):
        HealthCheck.objects.create(provider=openai, is_ok=False, state="down", latency_ms=i, error_text=f"failure {i:02}")
    HealthCheck.objects.create(provider=openai, is_ok=False, state="down", error_text="<script>alert(1)</script>")

    page = admin_client.get(detail("openai")).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert page.index("failure 29") < page.index("failure 28")
    assert "failure 05" not in page and "Page 1 of 2" in page

    second = admin_client.get(detail("openai") + "?page=2", **HX)
    body = second.content.decode()
    assert body.lstrip().startswith('<section class="card paged" id="health"') and "failure 05" in body


def test_check_now_on_a_provider_that_is_down_records_the_check_and_shows_the_state(admin_client, unused_tcp_port):
    provider_upsert(
        name="local",
        data={"kind": "openai", "base_url": f"http://127.0.0.1:{unused_tcp_port}/v1", "allow_private_network": True},
        secret=SECRET,
    )
    response = admin_client.post(reverse("routing:provider_check", args=["local"]), **HX)

    assert response.status_code == 200
    check = HealthCheck.objects.get(provider__name="local")
    assert check.state == "down" and not check.is_ok
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card paged" id="health"')
    assert '<span class="badge down">Down</span>' in body
    assert "local is down." in response["HX-Trigger"]
    assert Provider.objects.get(name="local").health_state == "down"
    assert SECRET not in body + response["HX-Trigger"]


def test_check_now_finds_the_echo_provider_healthy(admin_client, echo):
    response = admin_client.post(reverse("routing:provider_check", args=["echo"]), **HX)
    assert response.status_code == 200
    assert HealthCheck.objects.get(provider=echo).state == "healthy"
    assert '<span class="badge healthy">Healthy</span>' in response.content.decode()
    assert "echo is healthy." in response["HX-Trigger"]


def test_check_now_without_javascript_redirects_back_with_a_message(admin_client, echo):
    response = admin_client.post(reverse("routing:provider_check", args=["echo"]), follow=True)
    assert response.redirect_chain == [(detail("echo"), 303)]
    assert "echo is healthy." in response.content.decode()


def test_check_now_is_a_post_with_a_csrf_token(admin_user, echo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(reverse("routing:provider_check", args=["echo"])).status_code == 405
    assert client.post(reverse("routing:provider_check", args=["echo"])).status_code == 403
    assert client.post(detail("echo"), {"timeout_s": "5"}).status_code == 403
    assert not HealthCheck.objects.exists()
    assert Provider.objects.get(name="echo").timeout_s == 60


# ---- the settings form ----------------------------------------------------------------


def test_the_settings_form_saves_through_the_service(admin_client, openai):
    response = admin_client.post(
        detail("openai"), {"timeout_s": "15", "rate_limit_rpm": "90", "default_model": "openai:gpt-4o-mini"}, **HX
    )
    assert response.status_code == 200
    openai.refresh_from_db()
    assert (openai.is_enabled, openai.timeout_s, openai.rate_limit_rpm) == (False, 15, 90)
    assert openai.default_model.name == "gpt-4o-mini"
    assert "Saved openai." in response["HX-Trigger"]
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="grid-2" id="settings"')
    assert '<span class="badge disabled">disabled</span>' in body  # the About card follows
    assert openai.credential_encrypted  # the key stays

    response = admin_client.post(detail("openai"), {"is_enabled": "on", "timeout_s": "60", "rate_limit_rpm": ""})
    assert response.status_code == 303 and response["Location"] == detail("openai")
    openai.refresh_from_db()
    assert (openai.is_enabled, openai.rate_limit_rpm, openai.default_model) == (True, None, None)


@pytest.mark.parametrize(
    ("posted", "field", "message"),
    [
        ({"timeout_s": "0"}, "timeout_s", "must be between 1 and"),
        ({"timeout_s": "soon"}, "timeout_s", "must be a whole number"),
        ({"timeout_s": ""}, "timeout_s", "is required"),
        ({"timeout_s": "9", "rate_limit_rpm": "99999999999"}, "rate_limit_rpm", "must be between 0 and"),
        ({"timeout_s": "9", "default_model": "echo:echo"}, "default_model", "openai has no model"),
        ({"timeout_s": "9", "default_model": "openai:gpt-5"}, "default_model", "openai has no model"),
    ],
)
def test_the_settings_form_refuses_bad_input_beside_the_field_and_writes_nothing(admin_client, openai, echo, posted, field, message):
    before = Provider.objects.values().get(name="openai")
    response = admin_client.post(detail("openai"), {"is_enabled": "on", **posted}, **HX)

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    if field != "default_model":
        assert f'name="{field}" inputmode="numeric" value="{posted[field]}" aria-invalid="true"' in body
    else:
        assert 'name="default_model" id="default_model" aria-invalid="true"' in body
    assert Provider.objects.values().get(name="openai") == before
