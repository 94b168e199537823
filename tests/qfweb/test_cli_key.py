"""`manage.py qf key create|list|revoke`, end to end through the command dispatcher."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personas.keys import hash_key, parse_key
from personas.models import ApiKey
from tests.factories import bearer

pytestmark = pytest.mark.django_db
KEY_LINE = re.compile(r"^(qf_\w{8}_\w{38})$", re.M)


def qf(*args: str) -> str:
    out = StringIO()
    call_command("qf", "key", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_once_then_its_prefix_and_scopes(store):
    output = qf(
        "create", "--name", "bot", "--persona", "scene_smith", "--persona", "illustrator",
        "--task", "response", "--override", "--rpm", "60", "--budget", "12.5",
    )
    (plaintext,) = KEY_LINE.findall(output)
    lines = output.splitlines()
    assert lines[0] == plaintext
    assert "will not be shown again" in lines[1]
    api_key = ApiKey.objects.get(name="bot")
    assert lines[2] == f"Prefix: {api_key.prefix}"
    assert lines[3] == (
        "Scopes: personas illustrator,scene_smith; tasks response; override; 60/min; $12.50/month"
    )
    assert parse_key(plaintext) == api_key.prefix and api_key.key_hash == hash_key(plaintext)
    assert not api_key.may_write and api_key.monthly_budget == 12.5


def test_the_created_key_authenticates(store, client):
    (plaintext,) = KEY_LINE.findall(qf("create", "--name", "all", "--all-personas", "--write"))
    me = client.get("/api/me", **bearer(plaintext)).json()
    assert me["personas"] is None and me["tasks"] == [] and me["may_write"]


def test_create_takes_several_names_after_one_option(store):
    qf("create", "--name", "bot", "--persona", "scene_smith", "illustrator", "--all-tasks")
    api_key = ApiKey.objects.get(name="bot")
    assert api_key.personas.count() == 2 and api_key.all_tasks


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--persona", "scene_smith", "ghost"], "--persona: unknown persona ghost"),
        (["--task", "nope", "other"], "--task: unknown task nope, other"),
    ],
)
def test_create_refuses_unknown_names_naming_the_option_and_issues_nothing(store, args, message):
    before = ApiKey.objects.count()
    with pytest.raises(CommandError, match=f"^{message}$"):
        qf("create", "--name", "x", *args)
    assert ApiKey.objects.count() == before


@pytest.mark.parametrize(
    "args",
    [
        ["--rpm", "0"],
        ["--rpm", "many"],
        ["--budget", "-1"],
        ["--budget", "1.234"],
        ["--budget", "NaN"],
        ["--persona", "scene_smith", "--all-personas"],
        ["--task", "response", "--all-tasks"],
    ],
)
def test_create_refuses_bad_options(store, args):
    with pytest.raises(CommandError):
        qf("create", "--name", "x", *args)
    assert ApiKey.objects.count() == 1


def test_list_shows_keys_without_their_secrets(store):
    (plaintext,) = KEY_LINE.findall(qf("create", "--name", "bot", "--all-personas"))
    output = qf("list")
    lines = output.splitlines()
    assert lines[0].split() == ["PREFIX", "NAME", "SCOPES", "LAST", "USED", "REVOKED"]
    app = store.issued.api_key
    assert re.search(rf"^{app.prefix}\s+app\s+personas scene_smith; tasks response\s+-\s+-$",
                     output, re.M)
    assert re.search(rf"^{plaintext[:11]}\s+bot\s+personas all; tasks none\s+-\s+-$", output, re.M)
    assert plaintext[12:] not in output and store.issued.plaintext[12:] not in output


def test_list_says_when_there_are_no_keys(db):
    assert "No API keys" in qf("list")


def test_revoke_revokes_by_prefix_and_the_key_is_refused(
    store, client, django_capture_on_commit_callbacks
):
    prefix = store.issued.api_key.prefix
    with django_capture_on_commit_callbacks(execute=True):
        output = qf("revoke", prefix)
    assert output.startswith(f"Revoked key {prefix} (app)")
    assert ApiKey.objects.get(prefix=prefix).revoked_at is not None
    assert client.get("/api/me", **bearer(store.issued.plaintext)).status_code == 401
    assert re.search(rf"^{prefix}\s+app\s+.*\s\d{{4}}-\d\d-\d\d \d\d:\d\d$", qf("list"), re.M)


def test_revoke_twice_keeps_the_first_time(store):
    prefix = store.issued.api_key.prefix
    qf("revoke", prefix)
    first = ApiKey.objects.get(prefix=prefix).revoked_at
    assert "already revoked" in qf("revoke", prefix)
    assert ApiKey.objects.get(prefix=prefix).revoked_at == first


def test_revoke_refuses_an_unknown_prefix(store):
    with pytest.raises(CommandError, match="no API key with prefix 'qf_nothing0'"):
        qf("revoke", "qf_nothing0")
