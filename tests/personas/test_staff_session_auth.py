"""The dashboard's own API calls ride the staff session, with Django's CSRF check."""
from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_browser(admin_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    browser.get("/login/")  # sets the CSRF cookie, as any dashboard page does
    return browser


def test_a_staff_session_post_with_the_csrf_header_is_accepted(staff_browser):
    token = staff_browser.cookies["csrftoken"].value
    response = staff_browser.post(
        "/api/personas/nobody/generate", {"prompt": "hi"}, content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 404, response.content  # authenticated; the persona is unknown


def test_a_staff_session_post_without_the_csrf_token_is_refused(staff_browser):
    response = staff_browser.post("/api/personas/nobody/generate", {"prompt": "hi"}, content_type="application/json")
    assert response.status_code == 403


def test_a_multipart_body_without_a_boundary_is_a_400_not_a_500(staff_browser):
    """Django's CSRF check reads the form body; a multipart type with no boundary made it
    raise inside ninja's authentication, which answered 500."""
    token = staff_browser.cookies["csrftoken"].value
    response = staff_browser.post(
        "/api/personas/nobody/generate", data=b"x", content_type="multipart/form-data",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == "body"
