"""The catalog pages in a real browser, on the demo data: providers and "check now", the
model filters and editor, moving a task's fallback, and setting a default."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from routing.models import Default, HealthCheck, Model, Provider, TaskFallback
from tests.browser.conftest import NARROW, WIDE, shoot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_data(db):
    call_command("qf", "demo", stdout=io.StringIO())


def fits_narrow(page) -> bool:
    """No sideways scrolling of the page at 390 px (tables scroll inside their own box)."""
    page.set_viewport_size(NARROW)
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size(WIDE)
    return fits


def test_providers_list_then_detail_where_check_now_updates_the_health_panel(signed_in, live_server, demo_data):
    page = signed_in
    page.goto(f"{live_server.url}/providers/")
    expect(page.locator("h1")).to_have_text("Providers")
    expect(page.locator("#providers tbody tr")).to_have_count(Provider.objects.count())
    assert fits_narrow(page)
    shoot(page, "providers")

    page.get_by_role("link", name="echo", exact=True).click()
    expect(page.locator("h1")).to_have_text("Provider echo")
    expect(page.locator("#health-state .badge")).to_have_text("Unknown")
    page.get_by_role("button", name="Check now").click()
    expect(page.locator("#health-state .badge")).to_have_text("Healthy")
    expect(page.locator("#toasts")).to_contain_text("echo is healthy.")
    expect(page.locator("#health tbody tr")).to_have_count(1)
    assert HealthCheck.objects.get(provider__name="echo").state == "healthy"
    assert fits_narrow(page)
    shoot(page, "provider detail")


def test_the_models_list_filters_without_a_reload(signed_in, live_server, demo_data):
    page = signed_in
    page.goto(f"{live_server.url}/models/")
    page.get_by_label("Provider").select_option("ollama")
    expect(page.locator("#models tbody tr")).to_have_count(3)
    expect(page).to_have_url(f"{live_server.url}/models/?q=&provider=ollama&modality=&capability=&strength=&enabled=")
    page.get_by_label("Capability").select_option("creative")
    expect(page.locator("#models tbody tr")).to_have_count(1)
    expect(page.locator("#models tbody")).to_contain_text("ollama:google/gemma-3-12b")
    expect(page.locator("#models tbody")).to_contain_text("creative: moderate")
    assert fits_narrow(page)
    shoot(page, "models")


def test_the_model_editor_saves_a_price_and_a_capability_strength(signed_in, watch, live_server, demo_data):
    page = signed_in
    page.goto(f"{live_server.url}/models/")
    page.get_by_label("Search").fill("gpt-4o-mini")
    expect(page.locator("#models tbody tr")).to_have_count(1)
    page.get_by_role("link", name="openai:gpt-4o-mini").click()
    expect(page.locator("h1")).to_have_text("Model openai:gpt-4o-mini")

    page.get_by_label("Input, per 1M tokens").fill("0.2")
    code = page.locator("#capabilities tbody tr").filter(has=page.locator("option[value=code][selected]"))
    code.get_by_label("Strength of capability").select_option("exceptional")
    page.get_by_role("button", name="Add capability").click()  # a row button: nothing saved yet
    expect(page.locator("#capabilities tbody tr")).to_have_count(7)
    expect(page.get_by_role("status").filter(has_text="not saved yet")).to_be_visible()
    page.get_by_label("Capability 7", exact=True).select_option("legal")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Saved openai:gpt-4o-mini.")

    mini = Model.objects.get(name="gpt-4o-mini")
    assert str(mini.input_price) == "0.200000"
    strengths = {mc.capability.name: mc.strength for mc in mini.capabilities.select_related("capability")}
    assert strengths["code"] == 4 and strengths["legal"] == 2

    # A price that is no number: refused beside its input, nothing stored.
    watch.allow(422)  # Chromium logs the refusal's status as a console error
    page.get_by_label("Output, per 1M tokens").fill("lots")
    page.get_by_label("Output, per 1M tokens").press("Enter")  # Enter saves (not the first row button)
    expect(page.locator("#model-edit .error")).to_have_text("must be a number")
    expect(page.get_by_label("Output, per 1M tokens")).to_have_attribute("aria-invalid", "true")
    assert str(Model.objects.get(name="gpt-4o-mini").output_price) == "0.600000"
    # Screenshots last: Playwright leaves style="" on inputs (it hides the caret), which a
    # later htmx swap copies onto the new inputs, and the CSP refuses.
    assert fits_narrow(page)
    shoot(page, "model detail error")
    page.reload()
    shoot(page, "model detail")


def test_a_task_fallback_moves_up_and_the_order_shows_in_the_list(signed_in, live_server, demo_data):
    page = signed_in
    page.goto(f"{live_server.url}/tasks/")
    assert fits_narrow(page)
    shoot(page, "tasks")
    page.get_by_role("link", name="response", exact=True).click()
    fallbacks = page.locator("#fallbacks li .handle")
    expect(fallbacks).to_have_text(["1. anthropic:claude-3-5-sonnet-latest", "2. gemini:gemini-1.5-pro"])
    expect(page.locator("#chain li").first).to_contain_text("openai:gpt-4o")

    page.get_by_role("button", name="Move gemini:gemini-1.5-pro up").click()
    expect(fallbacks).to_have_text(["1. gemini:gemini-1.5-pro", "2. anthropic:claude-3-5-sonnet-latest"])
    assert [f.model.name for f in TaskFallback.objects.filter(task__name="response").select_related("model")] == [
        "claude-3-5-sonnet-latest", "gemini-1.5-pro"]  # moved, not saved
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Saved task response.")
    # The chain follows the saved order (gemini, not creative enough, is dropped as fallback #1).
    expect(page.locator("#dropped")).to_contain_text("gemini:gemini-1.5-pro below_capability creative is none, needs moderate · task response fallback #1")
    assert fits_narrow(page)
    shoot(page, "task form")

    page.get_by_role("link", name="All tasks").click()
    row = page.locator("#tasks tr").filter(has=page.get_by_role("link", name="response", exact=True))
    expect(row.locator("ol li")).to_have_text(["gemini:gemini-1.5-pro", "anthropic:claude-3-5-sonnet-latest"])

    page.get_by_role("link", name="New task").click()
    expect(page.locator("h1")).to_have_text("New task")
    page.get_by_label("Modality").select_option("image")  # the pickers offer image models now
    expect(page.locator("#primary option[value='dalle:dall-e-3']")).to_have_count(1)
    expect(page.locator("#primary option[value='openai:gpt-4o']")).to_have_count(0)
    shoot(page, "task new")


def test_setting_the_text_default(signed_in, live_server, demo_data):
    page = signed_in
    page.goto(f"{live_server.url}/defaults/")
    text = page.locator("#default-text")
    expect(text.locator("tbody tr").nth(1)).to_contain_text("echo:echo")
    text.get_by_label("Stored text default").select_option("openai:gpt-4o-mini")
    text.get_by_role("button", name="Set text default").click()
    expect(page.locator("#toasts")).to_contain_text("The stored text default is now openai:gpt-4o-mini.")
    expect(page.locator("#default-text tbody tr").nth(1)).to_contain_text("openai:gpt-4o-mini")
    expect(page.locator("#default-text tbody tr").nth(1)).to_contain_text("serves")
    assert Default.objects.get(modality="text").model.name == "gpt-4o-mini"
    assert fits_narrow(page)
    shoot(page, "defaults")
