"""The playground in a browser: the reply streams into the page through the API, then the
served model, attempts, tokens and cost are shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from personas.services import persona_apply
from routing.models import Generation
from tests.browser.conftest import shoot
from tests.factories import model, provider

pytestmark = pytest.mark.django_db(transaction=True)
PROMPT = "Once upon a time there were three little models"


@pytest.fixture
def echoer(transactional_db, monkeypatch):
    monkeypatch.delenv("PLAYGROUND_BROWSER_KEY", raising=False)
    echo = provider("echo", kind="echo")
    model(echo, "echo", modality="text", input_price="1", output_price="2")
    model(echo, "echo-image", modality="image", image_price="0.04")
    cloud = provider("cloud", credential_ref="${PLAYGROUND_BROWSER_KEY}")
    model(cloud, "big")
    model(echo, "echo-off", modality="text", is_enabled=False)
    persona_apply(data={"slug": "echoer", "name": "Echoer", "model": "cloud:big", "fallbacks": ["echo:echo"]})
    persona_apply(data={"slug": "illustrator", "model": "echo:echo-image"})


def test_a_streamed_run_shows_the_reply_and_who_served_it(signed_in, live_server, echoer):
    page = signed_in
    page.goto(f"{live_server.url}/personas/echoer/playground/")
    expect(page.get_by_role("heading", name="Playground: Echoer")).to_be_visible()
    shoot(page, "playground")
    page.get_by_label("Prompt").fill(PROMPT)
    page.get_by_label("Temperature").fill("0.4")
    expect(page.get_by_label("Stream the reply as it is written")).to_be_checked()
    page.get_by_role("button", name="Run").click()

    result = page.locator("#playground-result")
    expect(result.locator('[data-slot="output"]')).to_have_text(PROMPT)
    expect(result.locator('[data-slot="served"]')).to_have_text("echo:echo")
    expect(result.locator('[data-slot="level"]')).to_have_text("persona_fallback")
    expect(result.locator('[data-slot="status"]')).to_have_text("ok_after_fallback")
    expect(result.locator('[data-slot="tokens"]')).to_have_text("9 / 9")
    expect(result.locator('[data-slot="cost"]')).to_have_text("0.000027")
    rows = result.locator('[data-slot="attempts"] tr')
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("cloud:big")
    expect(rows.nth(0)).to_contain_text("auth")
    # The upstream's error text comes from the usage record, which staff may read.
    expect(rows.nth(0).locator("td").nth(5)).to_contain_text("PLAYGROUND_BROWSER_KEY} is not set")
    expect(rows.nth(1)).to_contain_text("echo:echo")
    expect(page.get_by_role("button", name="Run")).to_be_enabled()

    generation = Generation.objects.get()
    assert generation.is_streamed and generation.persona_slug == "echoer"
    expect(result.locator('[data-slot="request"]')).to_have_text(generation.request_id.hex)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    shoot(page, "playground-streamed")

    # A second run replaces the first.
    page.get_by_label("Prompt").fill("again")
    page.get_by_label("Stream the reply as it is written").uncheck()
    page.get_by_role("button", name="Run").click()
    expect(result.locator('[data-slot="tokens"]')).to_have_text("1 / 1")
    expect(result.locator('[data-slot="output"]')).to_have_text("again")
    assert Generation.objects.filter(is_streamed=False).count() == 1


def test_a_refused_run_says_why_beside_the_field(signed_in, watch, live_server, echoer):
    watch.allow(400)  # the API refuses the disabled model
    page = signed_in
    page.goto(f"{live_server.url}/personas/echoer/playground/")
    page.get_by_label("Prompt").fill("hello")
    page.get_by_label("Task").select_option("")
    page.locator("#pg-max-tokens").fill("0")
    page.get_by_role("button", name="Run").click()
    # The browser's own check (min=1) holds the form back: nothing is sent.
    assert page.locator("#pg-max-tokens").evaluate("input => !input.validity.valid")
    page.locator("#pg-max-tokens").fill("")
    page.get_by_label("Override").select_option("echo:echo-off")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_label("Override")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#playground-form .error")).to_contain_text("echo:echo-off")
    expect(page.locator("#playground-result")).to_be_visible()
    shoot(page, "playground-refused")
    assert not Generation.objects.exists()


def test_an_image_persona_shows_the_image(signed_in, live_server, echoer):
    page = signed_in
    page.goto(f"{live_server.url}/personas/illustrator/playground/")
    page.get_by_label("Prompt").fill("a lighthouse")
    page.get_by_role("button", name="Run").click()
    image = page.locator('#playground-result img[alt="The generated image"]')
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth === 1")
    shoot(page, "playground-image")
