"""The persona pages in a browser: create with fallbacks while the chain follows the unsaved
form, find it in the list, and revert a change from its history."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from personas.models import Persona
from tests.browser.conftest import NARROW, WIDE, shoot

pytestmark = pytest.mark.django_db(transaction=True)
GPT, CLAUDE, ECHO = "openai:gpt-4o", "anthropic:claude-3-5-sonnet-latest", "echo:echo"


def fits_narrow(page) -> bool:
    page.set_viewport_size(NARROW)
    fits = page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.set_viewport_size(WIDE)
    return fits


def test_an_operator_builds_a_persona_watching_its_chain_then_reverts_a_change(signed_in, live_server):
    call_command("qf", "demo")
    page = signed_in
    page.goto(f"{live_server.url}/personas/")
    expect(page.locator("#persona-table")).to_contain_text("scene_smith")
    shoot(page, "personas-list")
    assert fits_narrow(page)

    page.get_by_role("link", name="New persona").click()
    page.locator("#id_slug").fill("ballad_bard")
    page.locator("#id_name").fill("Ballad Bard")
    page.locator("#id_model").select_option(ECHO)
    chain = page.locator("#chain-entries code.handle")
    expect(chain).to_have_text([ECHO])
    for handle in (GPT, CLAUDE):
        page.locator("#id_new_fallback").select_option(handle)
        page.get_by_role("button", name="Add fallback").click()
        expect(page.locator("#fallbacks code")).to_contain_text([handle])
    expect(chain).to_have_text([ECHO, GPT, CLAUDE])

    page.get_by_role("button", name=f"Move {CLAUDE} up").click()
    expect(chain).to_have_text([ECHO, CLAUDE, GPT])  # before anything is saved
    assert not Persona.objects.filter(slug="ballad_bard").exists()
    shoot(page, "persona-form")
    assert fits_narrow(page)

    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(f"{live_server.url}/personas/ballad_bard/")
    expect(page.locator(".messages")).to_contain_text("Created ballad_bard")
    stored = Persona.objects.get(slug="ballad_bard").fallbacks.all()
    assert [f.model.handle for f in stored] == [CLAUDE, GPT]

    page.locator("#id_name").fill("Ballad Bard the Second")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator(".messages")).to_contain_text("Saved ballad_bard")

    page.get_by_role("link", name="All personas").click()
    page.get_by_label("Search").press_sequentially("ballad")
    expect(page.locator("#persona-table tbody tr")).to_have_count(1)
    expect(page.locator("#persona-table")).to_contain_text("Ballad Bard the Second")
    expect(page).to_have_url(re.compile(r"q=ballad"))

    page.get_by_role("link", name="ballad_bard").click()
    page.get_by_role("link", name="History").click()
    expect(page.locator("#changes tbody tr")).to_have_count(2)
    expect(page.locator("#changes")).to_contain_text("name: Ballad Bard → Ballad Bard the Second")
    shoot(page, "persona-history")
    assert fits_narrow(page)
    page.get_by_role("button", name=re.compile("Revert to the change of")).click()
    page.wait_for_url(f"{live_server.url}/personas/ballad_bard/")
    expect(page.locator(".messages")).to_contain_text("Reverted ballad_bard")
    expect(page.locator("#id_name")).to_have_value("Ballad Bard")


def test_a_form_error_shows_beside_its_input_and_keeps_what_was_typed(signed_in, live_server, watch):
    call_command("qf", "demo")
    watch.allow(422)
    page = signed_in
    page.goto(f"{live_server.url}/personas/new/")
    page.locator("#id_slug").fill("Not A Slug")
    page.locator("#id_temperature").fill("warm")
    page.get_by_role("button", name="Save").first.click()
    expect(page.locator("#id_temperature")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#editor")).to_contain_text("Must be a number.")
    expect(page.locator("#id_slug")).to_have_value("Not A Slug")
    assert page.url == f"{live_server.url}/personas/new/"
