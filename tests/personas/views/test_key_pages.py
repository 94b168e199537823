"""API key pages: the list and its filter, issuing a key (its plaintext shown once and
never again) and revoking one."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from personas.keys import api_key_issue, api_key_revoke
from personas.models import ApiKey, Persona
from routing.models import Task
from tests.factories import bearer

pytestmark = pytest.mark.django_db
KEY_RE = re.compile(r"qf_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


@pytest.fixture
def scopes(db):
    Persona.objects.create(slug="scene_smith")
    Persona.objects.create(slug="gatekeeper")
    Task.objects.create(name="response")


def new_key(**fields) -> dict:
    return {"name": "reader app", "personas": ["scene_smith"], "tasks": ["response"], "rate_limit_rpm": "60", "monthly_budget": "12.50", **fields}


def issue(name: str = "app", **scopes) -> ApiKey:
    return api_key_issue(name=name, personas=Persona.objects.filter(slug="scene_smith"), **scopes).api_key


@pytest.mark.parametrize("path", ["/keys/", "/keys/new/", "/keys/1/revoke/"])
def test_pages_need_a_staff_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_non_staff_user_cannot_issue_a_key(client, scopes, django_user_model):
    client.force_login(django_user_model.objects.create_user("app-dev", password="x"))
    assert client.post("/keys/new/", new_key()).status_code == 302
    assert not ApiKey.objects.exists()


# ---- the list ----------------------------------------------------------------------------


def test_the_list_shows_scopes_limits_and_only_the_prefix(admin_client, scopes):
    key = issue(all_tasks=True, may_override=True, rate_limit_rpm=30)
    page = admin_client.get("/keys/").content.decode()
    row = page[page.index(f'<tr id="key-{key.pk}">'):]
    row = row[: row.index("</tr>")]
    assert f"<code>{key.prefix}…</code>" in row
    assert "<td>scene_smith</td>" in row and "<td>all</td>" in row
    assert "<td class=\"hide-narrow\">yes</td>" in row and "30/min" in row and "never" in row
    assert '<span class="badge ok">active</span>' in row
    assert key.key_hash not in page


def test_the_list_filters_active_and_revoked_keys(admin_client, scopes):
    active, revoked = issue("live one"), issue("dead one")
    api_key_revoke(api_key=revoked)
    page = admin_client.get("/keys/?status=revoked").content.decode()
    assert "dead one" in page and "live one" not in page and '<span class="badge bad"' in page
    page = admin_client.get("/keys/?status=active").content.decode()
    assert "live one" in page and "dead one" not in page
    page = admin_client.get("/keys/?status=bogus&page=-3").content.decode()
    assert "live one" in page and "dead one" in page


def test_htmx_gets_only_the_table(admin_client, scopes):
    issue()
    page = admin_client.get("/keys/?status=active", HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<div class="card paged" id="key-table">') and "<html" not in page


def test_the_list_costs_the_same_queries_for_3_or_40_keys(admin_client, admin_user, scopes):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/keys/").status_code == 200
        return len(captured)

    for n in range(3):
        api_key_issue(name=f"k{n}", personas=Persona.objects.all(), tasks=Task.objects.all(), created_by=admin_user)
    few = queries()
    for n in range(3, 40):
        api_key_issue(name=f"k{n}", personas=Persona.objects.all(), tasks=Task.objects.all(), created_by=admin_user)
    assert queries() == few


# ---- issuing -----------------------------------------------------------------------------


def test_it_issues_a_key_and_shows_it_once(admin_client, admin_user, scopes):
    response = admin_client.post("/keys/new/", new_key(may_write="on"))
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    plaintext = KEY_RE.search(page).group(0)
    assert f'<code class="secret" data-secret>{plaintext}</code>' in page
    assert "it will not be shown again" in page
    key = ApiKey.objects.get()
    assert key.name == "reader app" and key.created_by == admin_user
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext.startswith(key.prefix + "_")
    assert [p.slug for p in key.personas.all()] == ["scene_smith"]
    assert [t.name for t in key.tasks.all()] == ["response"]
    assert (key.may_write, key.may_override, key.rate_limit_rpm, str(key.monthly_budget)) == (True, False, 60, "12.50")
    # Nowhere after this answer: not the list, not the form, not the session.
    assert plaintext not in admin_client.get("/keys/").content.decode()
    assert plaintext not in admin_client.get("/keys/new/").content.decode()
    assert plaintext not in str(dict(admin_client.session))


def test_a_key_may_be_for_all_personas_and_tasks(admin_client, scopes):
    admin_client.post("/keys/new/", new_key(personas=[], tasks=[], all_personas="on", all_tasks="on", rate_limit_rpm="", monthly_budget=""))
    key = ApiKey.objects.get()
    assert key.all_personas and key.all_tasks and key.rate_limit_rpm is None and key.monthly_budget is None


def test_the_issued_key_works_on_the_api(admin_client, scopes):
    page = admin_client.post("/keys/new/", new_key()).content.decode()
    plaintext = KEY_RE.search(page).group(0)
    assert Client().get("/api/me", **bearer(plaintext)).status_code == 200


def test_htmx_gets_the_new_key_in_place_of_the_form(admin_client, scopes):
    response = admin_client.post("/keys/new/", new_key(), HTTP_HX_REQUEST="true")
    assert response.status_code == 201
    assert response.content.decode().lstrip().startswith('<section id="key-created"')


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (new_key(name=""), "name", "at least 1 character"),
        (new_key(name="x" * 101), "name", "at most 100 characters"),
        (new_key(personas=["scene_smith", "nobody"]), "personas", "unknown persona &#x27;nobody&#x27;"),
        (new_key(tasks=["nothing"]), "tasks", "unknown task &#x27;nothing&#x27;"),
        (new_key(rate_limit_rpm="fast"), "rate_limit_rpm", "valid integer"),
        (new_key(rate_limit_rpm="0"), "rate_limit_rpm", "greater than or equal to 1"),
        (new_key(monthly_budget="-1"), "monthly_budget", "greater than or equal to 0"),
        (new_key(monthly_budget="1.234"), "monthly_budget", "no more than 2 decimal places"),
    ],
)
def test_it_refuses_bad_input_beside_the_field_and_issues_nothing(admin_client, scopes, data, field, message):
    response = admin_client.post("/keys/new/", data)
    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    assert page.count('aria-invalid="true"') == 1
    assert f'name="{field}"' in page.split('aria-invalid="true"')[0].rsplit("<", 1)[-1]
    assert not KEY_RE.search(page)
    assert not ApiKey.objects.exists()


def test_a_refused_form_keeps_what_was_typed(admin_client, scopes):
    page = admin_client.post("/keys/new/", new_key(name="my <app>", rate_limit_rpm="fast", may_override="on")).content.decode()
    assert 'value="my &lt;app&gt;"' in page and 'value="fast"' in page
    assert '<option value="scene_smith" selected>' in page and '<option value="gatekeeper">' in page
    assert 'name="may_override" checked' in page


# ---- revoking ----------------------------------------------------------------------------


def test_revoking_asks_first_then_revokes_and_the_key_stops_working(admin_client, scopes):
    page = admin_client.post("/keys/new/", new_key()).content.decode()
    plaintext = KEY_RE.search(page).group(0)
    key = ApiKey.objects.get()
    assert "Revoke key reader app?" in admin_client.get(f"/keys/{key.pk}/revoke/").content.decode()
    assert ApiKey.objects.get().revoked_at is None
    response = admin_client.post(f"/keys/{key.pk}/revoke/")
    assert response.status_code == 303 and response["Location"] == "/keys/"
    assert ApiKey.objects.get().revoked_at is not None
    page = admin_client.get("/keys/").content.decode()
    assert '<span class="badge bad"' in page and "Revoked key reader app" in page
    assert Client().get("/api/me", **bearer(plaintext)).status_code == 401


def test_revoking_twice_keeps_the_first_time(admin_client, scopes):
    key = issue()
    admin_client.post(f"/keys/{key.pk}/revoke/")
    first = ApiKey.objects.get().revoked_at
    assert admin_client.post(f"/keys/{key.pk}/revoke/").status_code == 303
    assert ApiKey.objects.get().revoked_at == first
    assert "was revoked on" in admin_client.get(f"/keys/{key.pk}/revoke/").content.decode()


def test_an_unknown_key_is_404(admin_client):
    assert admin_client.get("/keys/999/revoke/").status_code == 404
    assert admin_client.post("/keys/999/revoke/").status_code == 404


@pytest.mark.parametrize("path", ["/keys/new/", "/keys/1/revoke/"])
def test_writes_need_the_csrf_token(scopes, admin_user, path):
    key = issue()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(path.replace("/1/", f"/{key.pk}/"), new_key()).status_code == 403
    assert ApiKey.objects.get().revoked_at is None
