"""The Content Security Policy covers every HTML page, not only the dashboard's: the admin and
the API docs must work under it with no refusal and no console error."""
from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", [
    "/admin/", "/admin/personas/persona/", "/admin/personas/persona/add/",
    "/admin/routing/provider/", "/api/docs",
])
def test_pages_outside_the_dashboard_work_under_the_policy(signed_in, live_server, path):
    call_command("qf", "demo")
    response = signed_in.goto(live_server.url + path)
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    signed_in.wait_for_load_state("networkidle")
