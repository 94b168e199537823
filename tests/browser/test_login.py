from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, shoot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_staff_user_logs_in_and_lands_on_the_overview(signed_in, live_server):
    assert signed_in.get_by_role("link", name="Personas").is_visible()
    assert signed_in.locator("h1").first.inner_text() == "Overview"
    shoot(signed_in, "overview")


def test_the_login_page_says_when_the_password_is_wrong(page, watch, live_server, staff):
    page.goto(f"{live_server.url}/personas/")
    page.wait_for_url(f"{live_server.url}/login/?next=/personas/")
    shoot(page, "login")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD + "x")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()


def test_logging_out_ends_the_session(signed_in, live_server):
    signed_in.get_by_role("button", name="Log out").click()
    signed_in.wait_for_url(f"{live_server.url}/login/")
    signed_in.goto(f"{live_server.url}/")
    assert signed_in.url.startswith(f"{live_server.url}/login/")
