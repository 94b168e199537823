"""The defaults page: per modality the environment, stored and built-in defaults (resolution
levels 5-7), which one serves, and setting the stored one through routing.services.default_set."""

from __future__ import annotations

import pytest
from django.test import Client

from routing.models import Default, Model, Provider
from routing.snapshot import snapshot_forget

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
PAGE = "/defaults/"


@pytest.fixture
def catalog(db):
    echo = Provider.objects.create(name="echo", kind="echo")
    for name, modality in [("echo", "text"), ("echo-image", "image"), ("echo-speech", "audio"), ("other", "text")]:
        Model.objects.create(provider=echo, name=name, modality=modality)
    Model.objects.create(provider=echo, name="off", modality="text", is_enabled=False)
    echo.default_model = Model.objects.get(name="echo")
    echo.save()
    Default.objects.create(modality="image", model=Model.objects.get(name="echo-image"))


@pytest.fixture
def env_defaults(settings):
    """Levels 5 from the environment (read through the snapshot, rebuilt for the change)."""
    settings.QF_DEFAULT_MODELS = {"text": "echo:other"}
    settings.QF_TASK_MODELS = {"code_review": "echo:other"}
    snapshot_forget()
    yield
    snapshot_forget()


def section(body: str, modality: str) -> str:
    start = body.index(f'id="default-{modality}"')
    return body[start:body.index("</section>", start)]


def stored() -> dict[str, str]:
    return {d.modality: d.model.handle for d in Default.objects.select_related("model__provider")}


def test_it_sends_anonymous_and_non_staff_users_to_the_login_page(client, django_user_model, catalog):
    assert client.get(PAGE)["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("dev", password="x"))
    assert client.post(PAGE, {"modality": "text", "model": "echo:echo"})["Location"].startswith("/login/")
    assert "text" not in stored()


def test_each_modality_shows_its_three_levels_and_which_serves(admin_client, catalog, env_defaults):
    body = admin_client.get(PAGE).content.decode()

    text = section(body, "text")
    assert "5 environment" in text and "QF_DEFAULT_TEXT_MODEL" in text
    assert text.index("<code>echo:other</code>") < text.index('<span class="badge healthy">serves</span>')
    assert '<span class="badge unknown">not set</span>' in text  # nothing stored for text
    assert '<code>echo:echo</code></td>\n            <td><span class="badge warn">next in line</span>' in text

    image = section(body, "image")
    assert image.index("<code>echo:echo-image</code>") < image.index("serves")
    assert "same model as a level above" in image  # the built-in is the stored one

    assert "QF_MODEL_CODE_REVIEW" in body
    assert '<option value="echo:echo-speech" selected>' not in section(body, "audio")
    assert '<option value="echo:echo">' not in section(body, "audio")  # the picker keeps to its modality


def test_a_disabled_stored_default_says_why_it_is_skipped(admin_client, catalog):
    Default.objects.create(modality="text", model=Model.objects.get(name="off"))
    text = section(admin_client.get(PAGE).content.decode(), "text")
    assert "skipped: echo:off is disabled" in text
    assert text.index("<code>echo:echo</code>") < text.index("serves")


def test_setting_the_text_default_stores_it_and_swaps_its_section(admin_client, catalog):
    response = admin_client.post(PAGE, {"modality": "text", "model": "echo:other"}, **HX)
    assert response.status_code == 200
    assert stored()["text"] == "echo:other"
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="default-text"')
    assert '<option value="echo:other" selected>' in body and "serves" in body
    assert "The stored text default is now echo:other." in response["HX-Trigger"]

    plain = admin_client.post(PAGE, {"modality": "text", "model": "echo"}, follow=True)  # a provider: its default
    assert plain.redirect_chain == [(PAGE, 303)]
    assert stored()["text"] == "echo:echo"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("echo:echo-image", "echo:echo-image is a image model"),
        ("echo:nope", "unknown model"),
        ("nobody:x", "unknown provider"),
        ("not a handle", "unknown provider"),
        ("", "choose a model"),
    ],
)
def test_a_model_that_cannot_be_the_default_is_refused_beside_the_picker(admin_client, catalog, model, message):
    response = admin_client.post(PAGE, {"modality": "text", "model": model}, **HX)
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="default-text"')
    assert message in body and 'name="model" id="default-model-text" aria-invalid="true"' in body
    assert "text" not in stored()


def test_an_unknown_modality_is_a_400(admin_client, catalog):
    assert admin_client.post(PAGE, {"modality": "smell", "model": "echo:echo"}).status_code == 400
    assert "smell" not in stored()


def test_setting_a_default_needs_a_csrf_token(admin_user, catalog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(PAGE, {"modality": "text", "model": "echo:echo"}).status_code == 403
    assert "text" not in stored()
