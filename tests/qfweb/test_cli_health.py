"""`manage.py qf health [PROVIDER ...]`: probes providers now over real HTTP (the fault
server), prints a table, records the checks, and exits 1 naming the providers not well."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from routing.models import HealthCheck, Provider
from tests.fault import closed_port_url, ok, status
from tests.routing.engine_setup import SECRET

pytestmark = pytest.mark.django_db(transaction=True)


def qf_health(*names: str) -> str:
    out = io.StringIO()
    call_command("qf", "health", *names, stdout=out)
    return out.getvalue()


def failing(*names: str) -> tuple[str, str]:
    """(what was printed, the error) of a `qf health` that exits 1."""
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("qf", "health", *names, stdout=out)
    return out.getvalue(), str(raised.value)


def rows(printed: str) -> dict[str, list[str]]:
    """The table's rows by provider, the header checked."""
    header, *lines = printed.splitlines()
    assert header.split() == ["provider", "state", "latency", "error"]
    return {line.split()[0]: line.split() for line in lines}


@pytest.fixture
def listed(gateway, fault):
    """Every model of the gateway listed by the fault server: providers a and b are well."""
    for name in ("gpt-a", "gpt-b", "gpt-c"):
        fault.program(name, ok())
    return gateway


def test_it_checks_every_enabled_provider_and_prints_a_table(listed, fault):
    table = rows(qf_health())
    assert sorted(table) == ["a", "b", "echo"]
    assert {row[1] for row in table.values()} == {"healthy"}
    assert all(row[2].isdigit() and row[3] == "ms" for row in table.values())
    assert len([r for r in fault.requests if r.path == "/v1/models"]) == 2  # echo calls nobody
    states = dict(Provider.objects.values_list("name", "health_state"))
    assert states == {"a": "healthy", "b": "healthy", "echo": "healthy"}
    assert HealthCheck.objects.count() == 3


def test_it_exits_1_naming_the_providers_not_well(listed, fault):
    provider = Provider.objects.get(name="b")
    provider.base_url = closed_port_url() + "/v1"
    provider.save()
    printed, error = failing()
    assert error == "not well: b"
    table = rows(printed)  # the table is printed all the same
    assert (table["a"][1], table["b"][1]) == ("healthy", "down")
    assert Provider.objects.get(name="b").health_state == "down"


def test_it_checks_one_provider_by_name_or_alias(listed, fault):
    provider = Provider.objects.get(name="a")
    provider.aliases = ["alpha"]
    provider.save()
    assert list(rows(qf_health("a"))) == ["a"]
    assert list(rows(qf_health("alpha"))) == ["a"]
    assert [r.path for r in fault.requests] == ["/v1/models", "/v1/models"]
    assert set(HealthCheck.objects.values_list("provider__name", flat=True)) == {"a"}


def test_an_unknown_provider_is_an_error_and_nobody_is_called(listed, fault):
    printed, error = failing("a", "nowhere")
    assert error == "unknown provider 'nowhere'"
    assert printed == "" and fault.requests == [] and not HealthCheck.objects.exists()


def test_no_secret_in_the_output(gateway, fault):
    fault.program("*", status(401, message=f"invalid key {SECRET}", echo_key=True))
    printed, error = failing("a", "b")
    assert error == "not well: a, b"
    assert {row[1] for row in rows(printed).values()} == {"credential_invalid"}
    assert SECRET not in printed and SECRET not in error
    assert not HealthCheck.objects.filter(error_text__contains=SECRET).exists()


def test_with_no_enabled_provider_it_says_so(gateway, fault):
    for provider in Provider.objects.all():
        provider.is_enabled = False
        provider.save()
    assert qf_health() == "No enabled provider to check.\n"
    assert fault.requests == []
