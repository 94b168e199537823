"""The dashboard's shared rules: staff only, a strict CSP, templates that need no inline
script or style, and the page helpers."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import AsyncClient
from django.urls import get_resolver, reverse

from qfweb.errors import FieldErrors, QfError
from qfweb.pages import field_errors

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def dashboard_paths() -> list[str]:
    """Every dashboard page without URL arguments (the APIs and the admin have their own auth)."""
    paths = []
    for namespace in ("personas", "routing"):
        for name, (possibilities, *_rest) in get_resolver().namespace_dict[namespace][1].reverse_dict.items():
            if isinstance(name, str) and not possibilities[0][1]:
                paths.append(reverse(f"{namespace}:{name}"))
    return sorted({"/", *paths})


def test_every_section_is_listed():
    assert {"/", "/personas/", "/providers/", "/keys/", "/reports/"} <= set(dashboard_paths())


@pytest.mark.django_db
@pytest.mark.parametrize("path", dashboard_paths())
def test_pages_send_anonymous_users_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.django_db
@pytest.mark.parametrize("path", dashboard_paths())
def test_pages_refuse_users_who_are_not_staff(client, django_user_model, path):
    client.force_login(django_user_model.objects.create_user("app-dev", password="x"))
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_the_login_page_tells_a_non_staff_user_why(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("app-dev", password="x"))
    assert "is not a staff user" in client.get("/login/").content.decode()


@pytest.mark.django_db
def test_pages_carry_a_policy_without_inline_scripts_or_eval(admin_client):
    policy = admin_client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe" not in policy
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.django_db(transaction=True)
async def test_the_policy_is_set_on_the_async_path_too():
    response = await AsyncClient().get("/api/openapi.json")
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_logging_out_needs_a_post(admin_client):
    assert admin_client.get("/logout/").status_code == 405
    assert admin_client.post("/logout/").status_code == 302
    assert admin_client.get("/").status_code == 302


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 3


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_hold_no_inline_script_style_or_eval(template):
    """What the CSP would refuse in the browser, caught before it gets there."""
    text = re.sub(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", "", template.read_text(), flags=re.S)
    scripts = re.findall(r"<script\b[^>]*>", text)
    inline = [tag for tag in scripts if "src=" not in tag and 'type="application/json"' not in tag]
    assert inline == []
    assert not re.search(r"\sstyle=", text)
    assert not re.search(r"\shx-on[:-]", text)
    assert "js:" not in text and "javascript:" not in text
    assert not re.search(r"""(src|href)=["']https?://""", text), "no CDN: the app works offline"


def test_field_errors_file_nested_fields_under_their_input_too():
    error = FieldErrors([
        QfError("unknown model 'x:y'", field="fallbacks.2"),
        QfError("required", field="name"),
        QfError("counts do not add up"),
    ])
    assert field_errors(error) == {
        "fallbacks.2": ["unknown model 'x:y'"],
        "fallbacks": ["2: unknown model 'x:y'"],
        "name": ["required"],
        "form": ["counts do not add up"],
    }


def test_browsers_asking_for_favicon_ico_get_ours(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("qfweb/favicon.svg")


def test_field_errors_also_group_indexed_fields():
    error = FieldErrors([QfError("unknown model 'x:y'", field="fallbacks[1]")])
    assert field_errors(error)["fallbacks"] == ["1: unknown model 'x:y'"]


@pytest.mark.django_db
def test_an_htmx_request_without_a_session_is_sent_to_the_login_page_whole(client):
    """A poll after logging out must not swap the login form into a fragment."""
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/"


@pytest.mark.django_db
def test_pages_vary_on_the_htmx_header(admin_client):
    assert "HX-Request" in admin_client.get("/")["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "data"), [
    ("get", "/personas/?q=a%00b", None),
    ("get", "/personas/a%00b/", None),
    ("get", "/personas/a%00b/playground/", None),
    ("get", "/scenarios/a%00b/assignment.json", None),
    ("get", "/reports/?persona=a%00b", None),
    ("post", "/scenarios/new/", {"name": "a\x00b", "group_size": "2"}),
    ("post", "/keys/new/", {"name": "app", "personas": "a\x00"}),
])
def test_a_nul_character_anywhere_is_a_400_naming_the_field(admin_client, method, path, data):
    """PostgreSQL refuses NUL in text: without this guard those were 500s deep in a query."""
    response = getattr(admin_client, method)(path, data) if data else getattr(admin_client, method)(path)
    assert response.status_code == 400
    assert b"must not contain NUL characters" in response.content


@pytest.mark.parametrize(("text", "reason"), [
    ("[1]", "must be a JSON object"),
    ("{temperature", "is not valid JSON"),
    ('{"custom": {"a": NaN}}', "is not valid JSON: NaN"),
    ('{"custom": {"a": 1e400}}', "too large to store"),
    ('{"custom": {"a": "\\u0000"}}', "must not contain NUL"),
    ('{"custom": ["\\u0000"]}', "must not contain NUL"),
    ("[" * 100_000, "is not valid JSON"),
])
def test_a_json_box_refuses_what_the_database_would(text, reason):
    from qfweb.pages import json_object

    with pytest.raises(QfError) as refused:
        json_object(text, "params")
    assert reason in refused.value.message and refused.value.field == "params"


def test_a_json_box_reads_an_object_or_nothing():
    from qfweb.pages import json_object

    assert json_object("  ") == {} and json_object('{"seed": 7}') == {"seed": 7}


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "data", "status"), [
    ("get", "/reports/?key=%C2%B2", None, 200),  # "²" is a digit to str.isdigit, not to int()
    ("get", "/reports/export.csv?key=%C2%B2", None, 200),
    ("post", "/scenarios/new/", {"name": "duo", "group_size": "²"}, 422),
])
def test_digits_int_cannot_read_are_refused_or_ignored_not_a_500(admin_client, method, path, data, status):
    response = getattr(admin_client, method)(path, data) if data else getattr(admin_client, method)(path)
    assert response.status_code == status


def test_the_urls_load_under_the_manifest_storage_before_collectstatic(settings):
    """`check --deploy` imports the URLs with production's storage and no manifest yet."""
    import importlib

    from django.urls import clear_url_caches

    import qfweb.urls

    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.DEBUG = False
    try:
        importlib.reload(qfweb.urls)
    finally:
        clear_url_caches()


@pytest.mark.parametrize(("op", "after", "was_one"), [
    ("up:1", ["b", "a", "c"], True),
    ("down:1", ["a", "c", "b"], True),
    ("remove:0", ["b", "c"], True),
    ("up:0", ["a", "b", "c"], True),  # already first: nothing moves
    ("down:9", ["a", "b", "c"], True),
    ("up:²", ["a", "b", "c"], False),
    ("add_req", ["a", "b", "c"], False),
])
def test_move_or_remove_edits_an_ordered_list_in_place(op, after, was_one):
    from qfweb.pages import move_or_remove

    items = ["a", "b", "c"]
    assert move_or_remove(items, op) is was_one and items == after
