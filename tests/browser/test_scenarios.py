"""Scenarios in a browser: a distribution that does not add up is refused beside it, the
fixed one is saved, assigned with a seed, and its assignment downloads as JSON."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from personas.models import Scenario
from tests.browser.conftest import shoot
from tests.factories import model, provider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(transactional_db):
    openai = provider("openai")
    model(openai, "gpt-4o")
    model(provider("anthropic", kind="anthropic", base_url="https://1.1.1.1"), "claude-sonnet-4")


def test_a_scenario_is_fixed_saved_assigned_and_downloaded(signed_in, watch, live_server, catalog, tmp_path):
    page = signed_in
    page.goto(f"{live_server.url}/scenarios/")
    expect(page.get_by_text("No scenarios yet.")).to_be_visible()
    page.get_by_role("link", name="New scenario").click()
    shoot(page, "scenario-new")
    page.reload()  # the screenshot leaves style="" on inputs, which an htmx swap would carry

    page.get_by_label("Name").fill("duel")
    page.get_by_label("Group size").fill("4")
    page.get_by_label("Model 1", exact=True).select_option("openai:gpt-4o")
    page.locator('input[name="count"]').nth(0).fill("2")
    page.get_by_role("button", name="Add a model").click()
    expect(page.get_by_label("Model 2", exact=True)).to_be_visible()
    page.get_by_label("Model 2", exact=True).select_option("anthropic:claude-sonnet-4")
    page.locator('input[name="count"]').nth(1).fill("3")

    watch.allow(422)  # 2 + 3 is not 4
    page.get_by_role("button", name="Save", exact=True).click()
    distribution = page.locator("#sc-distribution")
    expect(distribution).to_have_attribute("aria-invalid", "true")
    expect(distribution.locator(".error")).to_have_text("scenario duel assigns 5 agents, but its group_size is 4")
    expect(page.get_by_label("Model 2", exact=True)).to_have_value("anthropic:claude-sonnet-4")  # kept
    assert not Scenario.objects.exists()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    shoot(page, "scenario-refused")

    page.locator('input[name="count"]').nth(1).fill("2")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/scenarios/duel/")
    expect(page.locator(".messages")).to_contain_text("Saved scenario duel")
    assert Scenario.objects.get(name="duel").group_size == 4

    page.get_by_label("Seed").fill("42")
    page.get_by_role("button", name="Assign 4 agents").click()
    expect(page.locator("[data-seed]")).to_have_text("42")
    expect(page.locator("#assignment tbody tr")).to_have_count(4)
    expect(page.locator("#toasts")).to_contain_text("Assigned 4 agents with seed 42")
    stored = Scenario.objects.get(name="duel").last_assignment
    expect(page.locator("#assignment tbody tr").first).to_contain_text(stored[0]["model"])
    shoot(page, "scenario")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the assignment (JSON)").click()
    download = download_info.value
    assert download.suggested_filename == "duel-assignment-42.json"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    body = json.loads(target.read_text())
    assert body["seed"] == 42 and body["assignment"] == stored

    page.goto(f"{live_server.url}/scenarios/")
    row = page.locator("tbody tr", has_text="duel")
    expect(row).to_contain_text("2 x openai:gpt-4o + 2 x anthropic:claude-sonnet-4")
    expect(row).to_contain_text("seed 42")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    shoot(page, "scenarios")

    page.get_by_role("link", name="duel").click()
    page.get_by_role("link", name="Delete…").click()
    shoot(page, "scenario-delete")
    page.get_by_role("button", name="Delete duel").click()
    page.wait_for_url(f"{live_server.url}/scenarios/")
    expect(page.get_by_text("No scenarios yet.")).to_be_visible()
    assert not Scenario.objects.exists()
