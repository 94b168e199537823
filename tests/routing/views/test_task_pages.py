"""The task pages: the list, and the form that creates or edits a task through
routing.services.task_upsert, with server-driven fallback ordering and requirement rows, and
the saved task's resolved chain."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from routing.choices import Strength
from routing.models import Capability, Model, ModelCapability, Provider, Task, TaskFallback, TaskRequirement

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
LIST, NEW = "/tasks/", "/tasks/new/"


@pytest.fixture
def catalog(db):
    code = Capability.objects.create(name="code")
    Capability.objects.create(name="creative")
    echo = Provider.objects.create(name="echo", kind="echo")
    off = Provider.objects.create(name="off", kind="echo", is_enabled=False)
    made = {name: Model.objects.create(provider=echo, name=name) for name in ("a", "b", "c", "d")}
    made["pic"] = Model.objects.create(provider=echo, name="pic", modality="image")
    made["off"] = Model.objects.create(provider=off, name="x")
    for model in made.values():
        ModelCapability.objects.create(model=model, capability=code, strength=Strength.STRONG)
    task = Task.objects.create(name="review", description="Reviews code", primary=made["a"], strategy="failover")
    TaskFallback.objects.create(task=task, model=made["b"], position=1)
    TaskFallback.objects.create(task=task, model=made["c"], position=2)
    TaskFallback.objects.create(task=task, model=made["off"], position=3)
    TaskRequirement.objects.create(task=task, capability=code, min_strength=Strength.MODERATE)
    return made


def edit(name: str = "review") -> str:
    return reverse("routing:task", args=[name])


def form(**changes) -> dict:
    """What the form of task review posts unchanged, with `changes`."""
    data = {
        "description": "Reviews code", "modality": "text", "primary": "echo:a",
        "fallbacks": ["echo:b", "echo:c", "off:x"], "new_fallback": "", "req_cap": ["code"],
        "req_strength": ["moderate"], "strategy": "failover", "default_params": "{}", "op": "save",
    }
    data.update(changes)
    return data


def fallbacks(name: str = "review") -> list[str]:
    return [f.model.handle for f in TaskFallback.objects.filter(task__name=name).select_related("model__provider")]


# ---- access ---------------------------------------------------------------------------


def test_it_sends_anonymous_and_non_staff_users_to_the_login_page(client, django_user_model, catalog):
    for path in (LIST, NEW, edit()):
        assert client.get(path)["Location"].startswith("/login/")
    assert client.post(edit(), form(op="up:1"))["Location"].startswith("/login/")
    client.force_login(django_user_model.objects.create_user("dev", password="x"))
    assert client.post(NEW, form(name="new-one"))["Location"].startswith("/login/")
    assert not Task.objects.filter(name="new-one").exists()


def test_an_unknown_task_is_a_404(admin_client, catalog):
    assert admin_client.get(edit("nope")).status_code == 404
    assert admin_client.post(edit("nope"), form()).status_code == 404
    assert admin_client.get(edit("x\x00")).status_code == 400  # qfweb.pages refuses NUL


# ---- the list -------------------------------------------------------------------------


def test_the_list_shows_primary_fallbacks_in_order_requirements_and_strategy(admin_client, catalog):
    body = admin_client.get(LIST).content.decode()
    assert f'href="{edit()}"' in body and "Reviews code" in body
    assert "<li>echo:b</li><li>echo:c</li><li>off:x</li>" in body
    assert "code ≥ moderate" in body and "failover" in body and "echo:a" in body


def test_an_htmx_request_gets_only_the_table(admin_client, catalog):
    body = admin_client.get(LIST, **HX).content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="tasks" class="paged">')


def test_the_list_pages_in_a_query_count_that_does_not_grow(admin_client, catalog):
    code = Capability.objects.get(name="code")

    def make(count: int, start: int) -> None:
        for i in range(start, start + count):
            task = Task.objects.create(name=f"t{i:03}", primary=catalog["a"])
            TaskFallback.objects.create(task=task, model=catalog["b"], position=1)
            TaskFallback.objects.create(task=task, model=catalog["c"], position=2)
            TaskRequirement.objects.create(task=task, capability=code, min_strength=Strength.BASIC)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(LIST).status_code == 200
        return len(captured)

    make(3, 0)
    few = queries()
    make(40, 3)
    assert queries() == few
    assert "Page 1 of 2" in admin_client.get(LIST).content.decode()


# ---- the form: row buttons ----------------------------------------------------------


def test_the_form_shows_the_saved_chain_with_levels_and_drop_reasons(admin_client, catalog):
    body = admin_client.get(edit()).content.decode()
    assert '<span class="level">task</span> <code>echo:a</code>' in body
    assert '<span class="level">task_fallback</span> <code>echo:c</code>' in body
    assert '<code class="dropped">off:x</code> <span class="badge bad">provider_disabled</span>' in body
    assert '<span class="level">builtin</span> <code>echo:echo</code>' not in body  # echo:echo is not stored


def test_moving_a_fallback_reorders_the_form_but_stores_nothing(admin_client, catalog):
    up = admin_client.post(edit(), form(op="up:1", description="typed"), **HX)
    body = up.content.decode()
    assert up.status_code == 200 and body.lstrip().startswith('<div id="task-editor"')
    assert body.index('name="fallbacks" value="echo:c"') < body.index('name="fallbacks" value="echo:b"')
    assert "not saved yet" in body
    assert 'value="typed"' in body
    down = admin_client.post(edit(), form(op="down:0")).content.decode()
    assert down.index('name="fallbacks" value="echo:c"') < down.index('name="fallbacks" value="echo:b"')
    gone = admin_client.post(edit(), form(op="remove_fallback:2")).content.decode()
    assert 'name="fallbacks" value="off:x"' not in gone
    added = admin_client.post(edit(), form(op="add_fallback", new_fallback="echo:d")).content.decode()
    assert 'name="fallbacks" value="echo:d"' in added
    rows = admin_client.post(edit(), form(op="add_req")).content.decode()
    assert rows.count('name="req_cap"') == 2
    assert admin_client.post(edit(), form(op="remove_req:0")).content.decode().count('name="req_cap"') == 0
    for op in ("up:0", "down:2", "up:99", "remove_fallback:x", "", "bogus"):
        assert admin_client.post(edit(), form(op=op)).status_code == 200

    assert fallbacks() == ["echo:b", "echo:c", "off:x"]
    assert Task.objects.get(name="review").description == "Reviews code"


def test_the_modality_picker_offers_only_that_modalitys_models(admin_client, catalog):
    body = admin_client.post(edit(), form(op="refresh", modality="image"), **HX).content.decode()
    assert '<option value="echo:pic">' in body and '<option value="echo:a">' not in body


# ---- the form: saving ---------------------------------------------------------------


def test_saving_writes_the_order_and_everything_else_through_the_service(admin_client, catalog):
    response = admin_client.post(
        edit(),
        form(fallbacks=["echo:c", "echo:b"], primary="echo:d", strategy="round_robin",
             req_cap=["code", "creative"], req_strength=["strong", "basic"], default_params='{"temperature": 0.3}'),
        **HX,
    )
    assert response.status_code == 200 and "Saved task review." in response["HX-Trigger"]
    task = Task.objects.get(name="review")
    assert fallbacks() == ["echo:c", "echo:b"]
    assert (task.primary.name, task.strategy, task.default_params) == ("d", "round_robin", {"temperature": 0.3})
    assert {r.capability.name: r.min_strength for r in task.requirements.all()} == {"code": 3, "creative": 1}
    body = response.content.decode()
    # The chain follows the save: no model is creative enough, so nothing serves.
    assert '<code class="dropped">echo:d</code> <span class="badge bad">below_capability</span>' in body
    assert "No model can serve this task" in body
    assert "not saved yet" not in body

    plain = admin_client.post(edit(), form())
    assert plain.status_code == 303 and plain["Location"] == edit()
    assert fallbacks() == ["echo:b", "echo:c", "off:x"]


def test_creating_a_task_leads_to_its_page(admin_client, catalog):
    response = admin_client.post(NEW, form(name="summarize", fallbacks=["echo:b"]), **HX)
    assert response.status_code == 200 and response["HX-Redirect"] == edit("summarize")
    assert fallbacks("summarize") == ["echo:b"]
    plain = admin_client.post(NEW, form(name="other", fallbacks=[], req_cap=[], req_strength=[]), follow=True)
    assert plain.redirect_chain == [(edit("other"), 303)] and "Saved task other." in plain.content.decode()
    assert admin_client.get(NEW).status_code == 200


@pytest.mark.parametrize(
    ("url", "changes", "field", "message"),
    [
        (NEW, {"name": "review"}, "name", "a task called &#x27;review&#x27; exists"),
        (NEW, {"name": "Bad Name"}, "name", "is not a valid name"),
        (NEW, {"name": ""}, "name", "This field cannot be blank"),
        ("edit", {"primary": "echo:pic"}, "primary", "is a image model; this task is text"),
        ("edit", {"primary": "echo:nope"}, "primary", "unknown model"),
        ("edit", {"fallbacks": ["echo:b", "echo:gone"]}, "fallbacks", "unknown model"),
        ("edit", {"fallbacks": ["echo:b", "echo:pic"]}, "fallbacks", "is a image model, not text"),
        ("edit", {"req_cap": ["telepathy"], "req_strength": ["basic"]}, "requirements", "unknown capability"),
        ("edit", {"req_cap": ["code", "code"], "req_strength": ["basic", "strong"]}, "requirements", "is listed twice"),
        ("edit", {"default_params": "{temperature"}, "default_params", "is not valid JSON"),
        ("edit", {"default_params": "[1]"}, "default_params", "must be a JSON object"),
        # What the database would refuse (a 500 before): inf, NUL, and nesting past the parser.
        ("edit", {"default_params": '{"custom": {"a": 1e400}}'}, "default_params", "too large to store"),
        ("edit", {"default_params": '{"custom": {"a": "\\u0000"}}'}, "default_params", "must not contain NUL"),
        ("edit", {"default_params": "[" * 100_000}, "default_params", "is not valid JSON"),
        ("edit", {"default_params": '{"temperature": "hot"}'}, "default_params", "temperature"),
        ("edit", {"strategy": "luck"}, "strategy", "is not a valid choice"),
        ("edit", {"modality": "smell"}, "modality", "is not a valid choice"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_written(admin_client, catalog, url, changes, field, message):
    before = (list(Task.objects.values()), list(TaskFallback.objects.values()), list(TaskRequirement.objects.values()))
    response = admin_client.post(edit() if url == "edit" else url, form(**changes), **HX)

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    marked = {
        "name": 'name="name" value="', "primary": 'name="primary" id="primary" aria-invalid="true"',
        "fallbacks": 'aria-invalid="true">2. ', "requirements": 'aria-label="Required capability 1" aria-invalid="true"',
        "default_params": 'name="default_params" spellcheck="false" aria-invalid="true"',
        "strategy": 'id="strategy" name="strategy" aria-invalid="true"',
        "modality": 'hx-target="#task-editor" hx-swap="outerHTML" aria-invalid="true"',
    }[field]
    assert marked in body
    assert (list(Task.objects.values()), list(TaskFallback.objects.values()), list(TaskRequirement.objects.values())) == before


def test_saving_needs_a_csrf_token(admin_user, catalog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(edit(), form(fallbacks=["echo:c"])).status_code == 403
    assert client.post(NEW, form(name="sneaky")).status_code == 403
    assert fallbacks() == ["echo:b", "echo:c", "off:x"] and not Task.objects.filter(name="sneaky").exists()

