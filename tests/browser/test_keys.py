"""API keys in a browser: a new key is shown once, never again, and stops working when
revoked."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from personas.models import ApiKey, Persona
from tests.browser.conftest import shoot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_key_is_shown_once_works_and_stops_working_when_revoked(signed_in, watch, live_server):
    Persona.objects.create(slug="scene_smith")
    page = signed_in
    page.goto(f"{live_server.url}/keys/")
    shoot(page, "keys-empty")
    page.get_by_role("link", name="New key").click()
    expect(page.get_by_role("heading", name="New API key")).to_be_visible()
    shoot(page, "key-new")
    # The screenshot leaves style="" on the inputs (Playwright hides the caret that way);
    # htmx would carry it onto the swapped form, which the CSP refuses: start clean.
    page.reload()

    watch.allow(422)  # the first try has a bad rate limit
    page.get_by_label("Name").fill("reader app")
    page.get_by_label("Or these").first.select_option(["scene_smith"])
    page.get_by_label("All tasks, present and future").check()
    page.get_by_label("Rate limit").fill("-5")
    page.get_by_role("button", name="Create the key").click()
    expect(page.get_by_label("Rate limit")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#key-form .error")).to_contain_text("greater than or equal to 1")
    expect(page.get_by_label("Name")).to_have_value("reader app")
    assert not ApiKey.objects.exists()
    shoot(page, "key-new-refused")

    page.get_by_label("Rate limit").fill("60")
    page.get_by_role("button", name="Create the key").click()
    secret = page.locator("[data-secret]")
    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    plaintext = secret.inner_text().strip()
    key = ApiKey.objects.get()
    assert plaintext.startswith(key.prefix + "_") and len(plaintext) > 40
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    shoot(page, "key-created")

    # An app's client: the key and no session cookie (the page's requests carry the staff
    # session, which the API would accept instead).
    app = httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {plaintext}"})
    me = app.get("/api/me")
    assert me.status_code == 200 and me.json()["name"] == "reader app"

    page.reload()  # the form again: the key is not in the page any more
    expect(page.get_by_role("button", name="Create the key")).to_be_visible()
    assert plaintext not in page.content()
    page.goto(f"{live_server.url}/keys/")
    row = page.locator(f"#key-{key.pk}")
    expect(row).to_contain_text(key.prefix)
    expect(row).to_contain_text("active")
    assert plaintext not in page.content()
    shoot(page, "keys")

    row.get_by_role("link", name="Revoke…").click()
    expect(page.get_by_role("heading", name="Revoke key reader app?")).to_be_visible()
    shoot(page, "key-revoke")
    page.get_by_role("button", name="Revoke reader app").click()
    page.wait_for_url(f"{live_server.url}/keys/")
    expect(page.locator(f"#key-{key.pk} .badge")).to_have_text("revoked")
    expect(page.locator(".messages")).to_contain_text("Revoked key reader app")
    assert app.get("/api/me").status_code == 401
    app.close()

    page.get_by_label("Show").select_option("active")
    expect(page.locator("#key-table")).to_contain_text("No active keys.")
    assert page.url.endswith("/keys/?status=active")
