from __future__ import annotations

import hashlib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from personas.keys import api_key_verify
from personas.models import ApiKey, Persona, PersonaChange, PersonaFallback, Scenario, ScenarioModel

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(r"qf_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}")


def url(model, view: str, *args) -> str:
    return reverse(f"admin:personas_{model._meta.model_name}_{view}", args=args)


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(Persona, "changelist")).status_code == 200
    return len(captured)


def _more_personas(store, n: int) -> None:
    for i in range(n):
        persona = Persona.objects.create(
            slug=f"agent_{n}_{i}",
            model=store.gpt4o if i % 2 else None,
            provider=None if i % 2 else store.echo,
        )
        PersonaFallback.objects.create(persona=persona, model=store.claude, position=1)


def test_it_lists_personas_with_a_fixed_number_of_queries(admin_client, store):
    _more_personas(store, 2)
    few = _changelist_queries(admin_client)
    _more_personas(store, 20)
    assert _changelist_queries(admin_client) == few


def test_it_records_a_change_after_the_inlines_are_saved(
    admin_client, admin_user, store, form_data
):
    data = form_data(admin_client.get(url(Persona, "change", store.smith.pk)))
    data.update(
        {
            "fallbacks-TOTAL_FORMS": "2",
            "fallbacks-1-position": "2",
            "fallbacks-1-model": str(store.echo_text.pk),
            "fallbacks-1-persona": str(store.smith.pk),
            "name": "Smith",
        }
    )
    response = admin_client.post(url(Persona, "change", store.smith.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    change = PersonaChange.objects.filter(persona=store.smith).first()
    assert change.action == "updated" and change.actor == admin_user.get_username()
    assert change.snapshot["name"] == "Smith"
    assert change.snapshot["fallbacks"] == ["anthropic:claude-sonnet-4", "echo:echo"]
    page = admin_client.get(url(Persona, "change", store.smith.pk)).content.decode()
    assert reverse("admin:personas_personachange_change", args=[change.pk]) in page


def test_it_records_a_created_change_for_a_new_persona(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Persona, "add")))
    data.update(slug="gatekeeper", model=str(store.gpt4o.pk))
    assert admin_client.post(url(Persona, "add"), data).status_code == 302
    assert PersonaChange.objects.get(persona_slug="gatekeeper").action == "created"


def test_it_keeps_a_deleted_change_when_a_persona_is_deleted(admin_client, store):
    assert (
        admin_client.post(url(Persona, "delete", store.illustrator.pk), {"post": "yes"}).status_code
        == 302
    )
    assert PersonaChange.objects.get(persona_slug="illustrator").action == "deleted"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"params": '{"temperature": 5}'}, "params", "temperature: must be between 0 and 2"),
        ({"model": "echo_image"}, "model", "echo:echo-image is a image model"),
        ({"provider": "echo"}, "__all__", "Set a model or a provider, not both."),
        ({"params": "{not json"}, "params", "Enter a valid JSON."),
    ],
)
def test_it_shows_persona_validation_errors_on_the_form(
    admin_client, store, form_data, changes, field, message
):
    data = form_data(admin_client.get(url(Persona, "change", store.smith.pk)))
    for name, value in changes.items():
        data[name] = str(getattr(store, value).pk) if hasattr(store, value) else value
    response = admin_client.post(url(Persona, "change", store.smith.pk), data)
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    store.smith.refresh_from_db()
    assert store.smith.params == {"temperature": 0.7} and store.smith.model == store.gpt4o


def _scenario_post(admin_client, form_data, store, *, group_size: int, counts: list[int]):
    data = form_data(admin_client.get(url(Scenario, "add")))
    data.update(
        {
            "name": "panel",
            "group_size": str(group_size),
            "distribution-TOTAL_FORMS": str(len(counts)),
        }
    )
    for i, (model, count) in enumerate(
        zip([store.gpt4o, store.claude, store.mini], counts, strict=False)
    ):
        data.update(
            {f"distribution-{i}-model": str(model.pk), f"distribution-{i}-count": str(count)}
        )
    return admin_client.post(url(Scenario, "add"), data)


def test_it_rejects_a_distribution_that_does_not_add_up(admin_client, store, form_data):
    response = _scenario_post(admin_client, form_data, store, group_size=10, counts=[5, 4])
    assert response.status_code == 200
    assert "The counts add up to 9, but the group size is 10." in response.content.decode()
    assert not Scenario.objects.filter(name="panel").exists()
    assert ScenarioModel.objects.count() == 2  # the fixture's only


def test_it_saves_a_distribution_that_adds_up(admin_client, store, form_data):
    assert (
        _scenario_post(admin_client, form_data, store, group_size=10, counts=[6, 4]).status_code
        == 302
    )
    scenario = Scenario.objects.get(name="panel")
    assert sorted(scenario.distribution.values_list("count", flat=True)) == [4, 6]


def test_it_checks_the_distribution_against_a_changed_group_size(admin_client, store, form_data):
    data = form_data(admin_client.get(url(Scenario, "change", store.scenario.pk)))
    data["group_size"] = "12"
    response = admin_client.post(url(Scenario, "change", store.scenario.pk), data)
    assert "The counts add up to 10, but the group size is 12." in response.content.decode()
    store.scenario.refresh_from_db()
    assert store.scenario.group_size == 10


def test_it_issues_a_key_and_shows_it_once(admin_client, admin_user, store, form_data):
    data = form_data(admin_client.get(url(ApiKey, "add")))
    data.update(
        name="mobile", personas=[str(store.smith.pk)], may_override="on", rate_limit_rpm="60"
    )
    response = admin_client.post(url(ApiKey, "add"), data, follow=True)
    assert response.status_code == 200
    shown = KEY_RE.findall(response.content.decode())
    assert len(set(shown)) == 1
    plaintext = shown[0]

    key = ApiKey.objects.get(name="mobile")
    assert key.prefix == plaintext[:11]
    assert key.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert key.created_by == admin_user and key.may_override and key.rate_limit_rpm == 60
    assert list(key.personas.all()) == [store.smith]
    assert api_key_verify(plaintext) == key

    for page in (
        url(ApiKey, "change", key.pk),
        url(ApiKey, "changelist"),
        url(ApiKey, "history", key.pk),
    ):
        body = admin_client.get(page).content.decode()
        assert plaintext not in body and plaintext[12:] not in body, page
        assert key.key_hash not in body, page
    assert key.prefix in admin_client.get(url(ApiKey, "change", key.pk)).content.decode()


def test_it_edits_scopes_without_touching_the_key(admin_client, store, form_data):
    key = store.issued.api_key
    data = form_data(admin_client.get(url(ApiKey, "change", key.pk)))
    assert "key_hash" not in data and "prefix" not in data
    data.update(tasks=[], all_tasks="on", monthly_budget="25.00")
    assert admin_client.post(url(ApiKey, "change", key.pk), data).status_code == 302
    key.refresh_from_db()
    assert key.all_tasks and not key.tasks.exists() and str(key.monthly_budget) == "25.00"
    assert api_key_verify(store.issued.plaintext) == key


def test_it_revokes_selected_keys(admin_client, store):
    key = store.issued.api_key
    response = admin_client.post(
        url(ApiKey, "changelist"),
        {"action": "revoke_selected", "_selected_action": [str(key.pk)]},
        follow=True,
    )
    assert "Revoked 1 API key(s)." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_verify(store.issued.plaintext) is None
