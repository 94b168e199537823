"""personas.services.scenario_assign: a seeded shuffle of the distribution, stored."""

from __future__ import annotations

from collections import Counter

import pytest

from personas.models import Scenario
from personas.services import scenario_apply, scenario_assign
from qfweb.errors import Conflict

pytestmark = pytest.mark.django_db


def _handles(result: dict) -> list[str]:
    return [agent["model"] for agent in result["assignment"]]


def test_it_gives_each_agent_one_model_as_the_distribution_says(store):
    result = scenario_assign(scenario=store.scenario, seed=7)

    assert [a["agent"] for a in result["assignment"]] == list(range(1, 11))
    assert Counter(_handles(result)) == {"openai:gpt-4o": 5, "anthropic:claude-sonnet-4": 5}
    assert result["scenario"] == "debate" and result["seed"] == 7


def test_it_stores_the_assignment_with_its_seed(store):
    result = scenario_assign(scenario=store.scenario, seed=7)

    stored = Scenario.objects.get(name="debate")
    assert stored.last_seed == 7
    assert stored.last_assignment == result["assignment"]
    assert stored.assigned_at == result["assigned_at"]


def test_the_same_seed_gives_the_same_assignment(store):
    first = _handles(scenario_assign(scenario=store.scenario, seed=12345))
    second = _handles(scenario_assign(scenario=store.scenario, seed=12345))

    assert first == second


def test_the_same_seed_gives_the_same_assignment_after_the_distribution_is_rewritten(store):
    first = _handles(scenario_assign(scenario=store.scenario, seed=99))
    # Rewriting re-creates the rows in another order (new ids); the shuffle must not care.
    scenario_apply(
        data={
            "name": "debate",
            "distribution": {"anthropic:claude-sonnet-4": 5, "openai:gpt-4o": 5},
        }
    )

    assert _handles(scenario_assign(scenario=Scenario.objects.get(name="debate"), seed=99)) == first


def test_other_seeds_shuffle_differently(store):
    orders = {tuple(_handles(scenario_assign(scenario=store.scenario, seed=s))) for s in range(20)}

    assert len(orders) > 1


def test_it_draws_a_63_bit_seed_when_none_is_given(store):
    result = scenario_assign(scenario=store.scenario)

    assert 0 <= result["seed"] < 2**63
    assert Scenario.objects.get(name="debate").last_seed == result["seed"]


def test_it_refuses_a_distribution_that_does_not_add_up_and_stores_nothing(store):
    Scenario.objects.filter(pk=store.scenario.pk).update(group_size=12)
    scenario = Scenario.objects.get(pk=store.scenario.pk)

    with pytest.raises(Conflict) as caught:
        scenario_assign(scenario=scenario, seed=1)

    assert caught.value.field == "distribution"
    scenario.refresh_from_db()
    assert scenario.last_assignment is None and scenario.last_seed is None


def test_it_refuses_a_group_too_large_to_assign(store):
    from personas.models import ScenarioModel
    from personas.services import MAX_AGENTS

    huge = Scenario.objects.create(name="crowd", group_size=MAX_AGENTS + 1)
    ScenarioModel.objects.create(scenario=huge, model=store.gpt4o, count=MAX_AGENTS + 1)

    with pytest.raises(Conflict) as caught:
        scenario_assign(scenario=huge, seed=1)

    assert caught.value.field == "group_size"
    huge.refresh_from_db()
    assert huge.last_assignment is None
