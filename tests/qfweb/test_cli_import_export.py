"""`manage.py qf import` and `qf export`, end to end through the command dispatcher."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from personas.models import Persona
from routing.models import Provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def qf(*args: str) -> str:
    out = StringIO()
    call_command("qf", *args, stdout=out)
    return out.getvalue()


def test_it_imports_a_file_and_reports_counts(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    output = qf("import", str(EXAMPLES / "roles_cost_optimized.yaml"))

    assert f"Imported {EXAMPLES / 'roles_cost_optimized.yaml'} (per-role YAML):" in output
    assert "  personas      4 created, 0 updated, 0 unchanged" in output
    assert "  total         9 created, 0 updated, 0 unchanged" in output
    assert "is on a private network; allow_private_network is set" in output
    assert Persona.objects.get(slug="gatekeeper").model.handle == "ollama:llama3"
    assert Provider.objects.get(name="ollama").allow_private_network

    again = qf("import", str(EXAMPLES / "roles_cost_optimized.yaml"))
    assert "  total         0 created, 0 updated, 9 unchanged" in again


def test_it_fails_with_every_error_and_exit_status_1_writing_nothing(tmp_path, store_snapshot):
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles:\n  gatekeeper: {provider: nosuch, temperature: hot}\n")
    before = store_snapshot()

    with pytest.raises(CommandError) as info:
        qf("import", str(bad))

    assert str(info.value) == (
        f"{bad}: roles.gatekeeper.provider: unknown provider 'nosuch'\n"
        f"{bad}: roles.gatekeeper.temperature: must be a number\n"
        f"{bad}: 2 errors; nothing was imported"
    )
    assert info.value.returncode == 1
    assert store_snapshot() == before


def test_a_dry_run_writes_nothing(store_snapshot):
    before = store_snapshot()
    output = qf("import", str(EXAMPLES / "qfweb_team.yaml"), "--dry-run", "--allow-unset-env")
    assert output.startswith("Dry run, nothing written; would import")
    assert "  personas      1 created" in output
    assert store_snapshot() == before


def test_an_unset_variable_needs_the_flag(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(
        CommandError,
        match=r"providers\[anthropic\]\.credential_ref: \$\{ANTHROPIC_API_KEY\} names no",
    ):
        qf("import", str(EXAMPLES / "qfweb_team.yaml"))
    assert "not set in this environment" in qf(
        "import", str(EXAMPLES / "qfweb_team.yaml"), "--allow-unset-env"
    )


def test_format_overrides_detection(tmp_path):
    path = tmp_path / "ei.json"
    path.write_text('{"name": "ei"}')
    with pytest.raises(CommandError, match="unknown format"):
        qf("import", str(path))
    qf("import", str(path), "--format", "persona")
    assert Persona.objects.filter(slug="ei").exists()


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"nope\.yaml: no such file"):
        qf("import", str(tmp_path / "nope.yaml"))


def test_it_exports_yaml_to_stdout_and_json_to_a_file(demo, tmp_path):
    as_yaml = yaml.safe_load(qf("export"))
    target = tmp_path / "qf.json"

    output = qf("export", "--format", "json", "--output", str(target))

    assert output.strip() == f"Exported the configuration to {target}"
    assert json.loads(target.read_text()) == as_yaml
    assert as_yaml["qfweb"] == 1 and len(as_yaml["personas"]) == 11


def test_an_export_imports_back_with_nothing_changed(demo, tmp_path):
    target = tmp_path / "qf.yaml"
    qf("export", "--output", str(target))
    output = qf("import", str(target), "--allow-unset-env")
    assert "  total         0 created, 0 updated, 68 unchanged" in output
