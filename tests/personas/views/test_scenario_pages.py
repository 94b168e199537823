"""Scenario pages: the list, create/edit with the distribution checked inline, assignment and
its JSON download, delete."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.db import connection

from personas.models import Scenario, ScenarioModel
from personas.services import scenario_apply, scenario_assign
from tests.factories import model, provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(db):
    openai, anthropic = provider("openai"), provider("anthropic", kind="anthropic", base_url="https://1.1.1.1")
    model(openai, "gpt-4o")
    model(anthropic, "claude-sonnet-4")
    scenario_apply(data={
        "name": "debate", "description": "Five and five", "group_size": 10,
        "distribution": {"openai:gpt-4o": 5, "anthropic:claude-sonnet-4": 5},
    })


def form(name="duel", size="4", models=("openai:gpt-4o", "anthropic:claude-sonnet-4"), counts=("2", "2"), **extra):
    return {"name": name, "description": "", "group_size": size, "model": list(models), "count": list(counts), **extra}


def stored(name: str) -> dict[str, int]:
    return {row.model.handle: row.count for row in ScenarioModel.objects.filter(scenario__name=name)}


# ---- access ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/scenarios/", "/scenarios/new/", "/scenarios/debate/", "/scenarios/debate/assignment.json"])
def test_pages_need_a_staff_login(client, catalog, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/scenarios/nope/"), ("post", "/scenarios/nope/"), ("post", "/scenarios/nope/assign/"),
        ("get", "/scenarios/nope/assignment.json"), ("get", "/scenarios/nope/delete/"),
        ("post", "/scenarios/nope/delete/"),
    ],
)
def test_an_unknown_scenario_is_404(admin_client, catalog, method, path):
    assert getattr(admin_client, method)(path).status_code == 404


# ---- the list ----------------------------------------------------------------------------


def test_the_list_summarises_each_distribution(admin_client, catalog):
    page = admin_client.get("/scenarios/").content.decode()
    assert 'href="/scenarios/debate/"' in page
    assert "5 x <code>openai:gpt-4o</code> + 5 x <code>anthropic:claude-sonnet-4</code>" in page or (
        "5 x <code>anthropic:claude-sonnet-4</code> + 5 x <code>openai:gpt-4o</code>" in page
    )
    assert "never" in page


def test_the_list_shows_the_last_assignment(admin_client, catalog):
    scenario_assign(scenario=Scenario.objects.get(name="debate"), seed=7)
    assert "seed 7" in admin_client.get("/scenarios/").content.decode()


def test_the_list_costs_the_same_queries_for_3_or_40_scenarios(admin_client, catalog):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/scenarios/").status_code == 200
        return len(captured)

    for n in range(2):
        scenario_apply(data={"name": f"s{n}", "distribution": {"openai:gpt-4o": 1, "anthropic:claude-sonnet-4": 2}})
    few = queries()
    for n in range(2, 40):
        scenario_apply(data={"name": f"s{n}", "distribution": {"openai:gpt-4o": 1, "anthropic:claude-sonnet-4": 2}})
    assert queries() == few


def test_the_list_pages_and_survives_a_bad_page_number(admin_client, catalog):
    for n in range(30):
        scenario_apply(data={"name": f"s{n:02}", "distribution": {"openai:gpt-4o": 1}})
    assert "Page 2 of 2" in admin_client.get("/scenarios/?page=2").content.decode()
    assert admin_client.get("/scenarios/?page=abc").status_code == 200


def test_htmx_gets_only_the_table(admin_client, catalog):
    page = admin_client.get("/scenarios/", HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<div class="card paged"') and "<html" not in page


# ---- create and edit -----------------------------------------------------------------------


def test_it_creates_a_scenario(admin_client, catalog):
    response = admin_client.post("/scenarios/new/", form())
    assert response.status_code == 303 and response["Location"] == "/scenarios/duel/"
    assert Scenario.objects.get(name="duel").group_size == 4
    assert stored("duel") == {"openai:gpt-4o": 2, "anthropic:claude-sonnet-4": 2}
    assert "Saved scenario duel" in admin_client.get("/scenarios/duel/").content.decode()


def test_an_empty_group_size_is_the_sum_of_the_counts(admin_client, catalog):
    admin_client.post("/scenarios/new/", form(size="", counts=("3", "4")))
    assert Scenario.objects.get(name="duel").group_size == 7


def test_htmx_saves_and_is_sent_to_the_scenario(admin_client, catalog):
    response = admin_client.post("/scenarios/new/", form(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == "/scenarios/duel/"


@pytest.mark.parametrize(
    ("data", "message", "invalid"),
    [
        (form(counts=("2", "3")), "assigns 5 agents, but its group_size is 4", 'id="sc-distribution" aria-invalid="true"'),
        (form(models=("openai:gpt-4o", "openai:nope")), "unknown model", '<select name="model" aria-label="Model 2" aria-invalid="true">'),
        (form(models=("openai:gpt-4o", "openai:gpt-4o")), "openai:gpt-4o is listed twice", '<select name="model" aria-label="Model 2" aria-invalid="true">'),
        (form(models=("openai:gpt-4o", "")), "choose a model", '<select name="model" aria-label="Model 2" aria-invalid="true">'),
        (form(counts=("2", "two")), "positive whole number of agents", 'value="two" aria-invalid="true"'),
        (form(counts=("2", "0")), "positive whole number of agents", 'value="0" aria-invalid="true"'),
        (form(size="four"), "must be a whole number of agents", 'value="four" aria-invalid="true"'),
        (form(name="Bad Name"), "is not a valid name", 'value="Bad Name" aria-invalid="true"'),
        (form(name=""), "must be the scenario", 'value="" aria-invalid="true"'),
        (form(models=("", ""), counts=("", "")), "must map provider:model handles", 'id="sc-distribution" aria-invalid="true"'),
        (form(name="debate"), "a scenario of this name exists", 'value="debate" aria-invalid="true"'),
    ],
)
def test_it_refuses_a_bad_scenario_beside_the_field_and_writes_nothing(admin_client, catalog, data, message, invalid):
    before = list(ScenarioModel.objects.values_list("scenario__name", "model__name", "count"))
    response = admin_client.post("/scenarios/new/", data)
    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    assert invalid in page
    assert Scenario.objects.count() == 1
    assert list(ScenarioModel.objects.values_list("scenario__name", "model__name", "count")) == before


def test_a_refused_form_keeps_what_was_typed(admin_client, catalog):
    page = admin_client.post("/scenarios/new/", form(name="duel", counts=("2", "3"), description="<i>x</i>")).content.decode()
    assert 'value="duel"' in page and 'value="3"' in page and "&lt;i&gt;x&lt;/i&gt;" in page
    assert '<option value="anthropic:claude-sonnet-4" selected>' in page


def test_htmx_gets_the_refused_form_alone(admin_client, catalog):
    response = admin_client.post("/scenarios/new/", form(counts=("1", "1")), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<form id="scenario-form"')


def test_rows_are_added_and_removed_without_saving(admin_client, catalog):
    page = admin_client.post("/scenarios/new/", form(row="add")).content.decode()
    assert page.count('name="count"') == 3
    page = admin_client.post("/scenarios/new/", form(row="remove-0")).content.decode()
    assert page.count('name="count"') == 1
    assert '<option value="anthropic:claude-sonnet-4" selected>' in page
    assert '<option value="openai:gpt-4o" selected>' not in page
    assert not Scenario.objects.filter(name="duel").exists()


def test_it_edits_a_scenario(admin_client, catalog):
    page = admin_client.get("/scenarios/debate/").content.decode()
    assert '<option value="openai:gpt-4o" selected>' in page and 'value="10"' in page
    data = form(name="ignored", size="6", counts=("1", "5"), description="Lopsided")
    response = admin_client.post("/scenarios/debate/", data)
    assert response.status_code == 303 and response["Location"] == "/scenarios/debate/"
    assert stored("debate") == {"openai:gpt-4o": 1, "anthropic:claude-sonnet-4": 5}
    assert Scenario.objects.get(name="debate").description == "Lopsided"
    assert not Scenario.objects.filter(name="ignored").exists()


def test_an_edit_that_does_not_add_up_changes_nothing(admin_client, catalog):
    response = admin_client.post("/scenarios/debate/", form(size="10", counts=("5", "4")))
    assert response.status_code == 422
    assert "assigns 9 agents, but its group_size is 10" in response.content.decode()
    assert stored("debate") == {"openai:gpt-4o": 5, "anthropic:claude-sonnet-4": 5}


# ---- assignment --------------------------------------------------------------------------


def test_it_assigns_with_a_seed_and_shows_the_table(admin_client, catalog):
    response = admin_client.post("/scenarios/debate/assign/", {"seed": "42"})
    assert response.status_code == 303 and response["Location"] == "/scenarios/debate/"
    scenario = Scenario.objects.get(name="debate")
    assert scenario.last_seed == 42 and len(scenario.last_assignment) == 10
    page = admin_client.get("/scenarios/debate/").content.decode()
    assert "<code data-seed>42</code>" in page
    assert page.count("<tr><td class=\"num\">") == 10
    first = scenario.last_assignment[0]["model"]
    assert f'<tr><td class="num">1</td><td><code>{first}</code></td></tr>' in page


def test_the_same_seed_gives_the_same_assignment(admin_client, catalog):
    admin_client.post("/scenarios/debate/assign/", {"seed": "42"})
    first = Scenario.objects.get(name="debate").last_assignment
    admin_client.post("/scenarios/debate/assign/", {"seed": ""})
    admin_client.post("/scenarios/debate/assign/", {"seed": "42"})
    assert Scenario.objects.get(name="debate").last_assignment == first


def test_htmx_assigns_and_gets_the_assignment_alone_with_a_toast(admin_client, catalog):
    response = admin_client.post("/scenarios/debate/assign/", {"seed": "3"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="assignment"')
    assert "seed 3" in json.loads(response["HX-Trigger"])["qf:toast"]["message"]


@pytest.mark.parametrize("seed", ["-1", "abc", str(2**63)])
def test_a_bad_seed_is_refused_beside_it(admin_client, catalog, seed):
    response = admin_client.post("/scenarios/debate/assign/", {"seed": seed})
    assert response.status_code == 422
    page = response.content.decode()
    assert f'value="{seed}" aria-invalid="true"' in page and "must be a whole number" in page
    assert Scenario.objects.get(name="debate").last_assignment is None


def test_a_get_of_assign_changes_nothing(admin_client, catalog):
    assert admin_client.get("/scenarios/debate/assign/").status_code == 302
    assert Scenario.objects.get(name="debate").last_assignment is None


def test_the_assignment_downloads_as_json(admin_client, catalog):
    assigned = scenario_assign(scenario=Scenario.objects.get(name="debate"), seed=99)
    response = admin_client.get("/scenarios/debate/assignment.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="debate-assignment-99.json"'
    body = json.loads(response.content)
    assert body["scenario"] == "debate" and body["seed"] == 99
    assert body["assignment"] == assigned["assignment"]


def test_there_is_no_download_before_an_assignment(admin_client, catalog):
    assert admin_client.get("/scenarios/debate/assignment.json").status_code == 404
    assert "Download" not in admin_client.get("/scenarios/debate/").content.decode()


# ---- delete ------------------------------------------------------------------------------


def test_delete_asks_first_then_deletes(admin_client, catalog):
    page = admin_client.get("/scenarios/debate/delete/").content.decode()
    assert "Delete scenario debate?" in page and Scenario.objects.filter(name="debate").exists()
    response = admin_client.post("/scenarios/debate/delete/")
    assert response.status_code == 303 and response["Location"] == "/scenarios/"
    assert not Scenario.objects.filter(name="debate").exists()


@pytest.mark.parametrize(
    ("path", "data"),
    [("/scenarios/new/", form()), ("/scenarios/debate/", form()), ("/scenarios/debate/assign/", {}), ("/scenarios/debate/delete/", {})],
)
def test_writes_need_the_csrf_token(catalog, admin_user, path, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(path, data).status_code == 403
    assert stored("debate") == {"openai:gpt-4o": 5, "anthropic:claude-sonnet-4": 5}
    assert Scenario.objects.get(name="debate").last_assignment is None
    assert not Scenario.objects.filter(name="duel").exists()
