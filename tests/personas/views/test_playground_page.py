"""The playground page without JavaScript: the form posts to the page, which runs the
generation whole through the gateway's checks and shows who served it."""

from __future__ import annotations

import pytest
from django.test import Client

from personas.services import persona_apply
from routing.models import Attempt, Generation
from tests.factories import model, provider

pytestmark = pytest.mark.django_db
URL = "/personas/echoer/playground/"


@pytest.fixture
def echoer(db):
    echo = provider("echo", kind="echo")
    model(echo, "echo", modality="text", input_price="1", output_price="2")
    model(echo, "echo-image", modality="image", image_price="0.04")
    persona_apply(data={"slug": "echoer", "name": "Echoer", "model": "echo:echo"}, actor="test")
    persona_apply(data={"slug": "illustrator", "model": "echo:echo-image"}, actor="test")


def test_it_sends_anonymous_users_to_the_login_page(client, echoer):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_refuses_users_who_are_not_staff(client, echoer, django_user_model):
    client.force_login(django_user_model.objects.create_user("app-dev", password="x"))
    assert client.post(URL, {"prompt": "hi"}).status_code == 302
    assert not Generation.objects.exists()


def test_it_is_404_for_an_unknown_persona(admin_client, echoer):
    assert admin_client.get("/personas/nobody/playground/").status_code == 404
    assert admin_client.post("/personas/nobody/playground/", {"prompt": "hi"}).status_code == 404


def test_it_shows_the_form_with_a_way_back_to_the_persona(admin_client, echoer):
    page = admin_client.get(URL).content.decode()
    assert '<form id="playground-form"' in page and 'method="post"' in page
    assert 'data-api="/api/personas/echoer/generate"' in page
    assert 'href="/personas/echoer/"' in page
    assert 'name="stream" checked' in page  # streaming is the default for text
    assert 'value="echo:echo"' in page  # the override picker
    assert "qfweb/playground.js" in page


def test_an_image_persona_has_no_stream_or_text_parameters(admin_client, echoer):
    page = admin_client.get("/personas/illustrator/playground/").content.decode()
    assert 'name="stream"' not in page and 'name="temperature"' not in page


def test_it_runs_a_generation_and_shows_who_served_it(admin_client, echoer):
    response = admin_client.post(URL, {"prompt": "hello there world", "temperature": "0.3", "max_tokens": "50"})
    assert response.status_code == 200
    page = response.content.decode()
    generation = Generation.objects.get()
    assert generation.persona_slug == "echoer" and generation.status == "ok"
    assert generation.served_handle == "echo:echo" and generation.api_key_id is None
    assert '<div class="output" data-slot="output">hello there world</div>' in page
    assert 'data-slot="served">echo:echo</div>' in page
    assert 'data-slot="level">persona</div>' in page
    assert 'data-slot="tokens">3 / 3</div>' in page
    assert f"{generation.request_id.hex}</code>" in page
    assert 'data-slot="cost">0.000009</div>' in page  # 3 x $1/M in + 3 x $2/M out
    assert '<tr data-model="echo:echo">' in page


def test_it_lists_failed_attempts_with_their_error_text(admin_client, echoer, monkeypatch):
    monkeypatch.delenv("PLAYGROUND_TEST_KEY", raising=False)
    openai = provider("openai", credential_ref="${PLAYGROUND_TEST_KEY}")
    model(openai, "gpt-4o")
    persona_apply(data={"slug": "echoer", "model": "openai:gpt-4o", "fallbacks": ["echo:echo"]})
    page = admin_client.post(URL, {"prompt": "hi"}).content.decode()
    assert Generation.objects.get().status == "ok_after_fallback"
    assert '<tr data-model="openai:gpt-4o">' in page
    assert "PLAYGROUND_TEST_KEY} is not set in the environment</td>" in page
    assert 'data-slot="served">echo:echo</div>' in page


def test_an_image_reply_is_shown_inline(admin_client, echoer):
    page = admin_client.post("/personas/illustrator/playground/", {"prompt": "a cat"}).content.decode()
    assert '<img src="data:image/png;base64,iVBOR' in page


def test_a_chain_that_fails_is_a_message_and_its_status_not_a_500(admin_client, echoer, monkeypatch):
    monkeypatch.delenv("PLAYGROUND_TEST_KEY", raising=False)
    openai = provider("openai", credential_ref="${PLAYGROUND_TEST_KEY}")
    model(openai, "gpt-4o")
    persona_apply(data={"slug": "echoer", "model": "openai:gpt-4o"})
    Generation.objects.all().delete()
    # No fallback, and no default serves text: every model of the chain fails.
    from routing.models import Default, Model

    Default.objects.all().delete()
    Model.objects.filter(name="echo").update(is_enabled=False)
    response = admin_client.post(URL, {"prompt": "hi"})
    assert response.status_code in (502, 503)
    page = response.content.decode()
    assert 'class="error"' in page and '<tr data-model="openai:gpt-4o">' in page
    assert Generation.objects.get().status == "failed"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"prompt": "hi", "temperature": "hot"}, "temperature", "must be a number"),
        ({"prompt": "hi", "max_tokens": "1.5"}, "max_tokens", "must be a whole number"),
        ({"prompt": "hi", "temperature": "9"}, "temperature", "between 0 and 2"),
        ({"prompt": "   "}, "prompt", "non-empty user message"),
        ({"prompt": "hi", "task": "nope"}, "task", "unknown task"),
        ({"prompt": "hi", "override": "echo:missing"}, "override", "echo:missing"),
    ],
)
def test_it_refuses_bad_input_beside_the_field_and_runs_nothing(admin_client, echoer, data, field, message):
    response = admin_client.post(URL, data)
    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    assert page.count('aria-invalid="true"') == 1
    assert f'name="{field}"' in page.split('aria-invalid="true"')[0].rsplit("<", 1)[-1]
    assert not Generation.objects.exists() and not Attempt.objects.exists()


def test_it_keeps_what_was_typed_when_it_refuses(admin_client, echoer):
    page = admin_client.post(URL, {"prompt": "my <b>prompt</b>", "temperature": "hot"}).content.decode()
    assert "my &lt;b&gt;prompt&lt;/b&gt;</textarea>" in page
    assert 'value="hot"' in page


def test_a_disabled_persona_is_refused_with_a_message(admin_client, echoer):
    persona_apply(data={"slug": "echoer", "is_enabled": False})
    response = admin_client.post(URL, {"prompt": "hi"})
    assert response.status_code == 422
    assert "is disabled" in response.content.decode()
    assert not Generation.objects.exists()


def test_htmx_gets_only_the_result(admin_client, echoer):
    response = admin_client.post(URL, {"prompt": "hi"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="playground-result"') and "<html" not in page


def test_upstream_text_is_escaped(admin_client, echoer):
    page = admin_client.post(URL, {"prompt": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</div>" in page


def test_a_post_needs_the_csrf_token(echoer, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(URL, {"prompt": "hi"}).status_code == 403
    assert not Generation.objects.exists()
