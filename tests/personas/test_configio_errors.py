"""A bad file gets errors naming the file, the entry and the field, and changes nothing."""

from __future__ import annotations

import pytest

from personas.configio import ImportFailed, import_file, import_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]

ROLES_BAD_TYPE = """\
roles:
  scene_smith: {provider: openai, model: gpt-4o, temperature: 0.5}
  gatekeeper: {provider: ollama, model: llama3, temperature: hot}
"""
ROLES_UNKNOWN_PROVIDER = """\
roles:
  gatekeeper: {provider: nosuch, temperature: 0.2}
  lore_weaver: {provider: nosuch, model: big-model}
"""
SCENARIO_SUM = """\
NUM_AGENTS: 10
model_configs:
  openai/gpt-4: {max_tokens: 1000}
  anthropic/claude-3-sonnet: {max_tokens: 1000}
scenarios:
  - name: mixed_5_5
    model_distribution: {openai/gpt-4: 5, anthropic/claude-3-sonnet: 4}
"""
UNKNOWN_CAPABILITY = """\
qfweb: 1
tasks:
  - name: response
    primary: openai:gpt-4o
    requirements: {telepathy: strong, reasoning: moderate}
"""
UNSET_ENV = """\
providers:
  text:
    openai: {api_key: "${QF_TEST_NOWHERE_KEY}", model: gpt-4o}
"""
REGISTRY_UNKNOWN_ID = """\
{"models": [{"id": "fast", "provider": "openai", "modelName": "gpt-4o-mini"}],
 "taskMappings": [{"taskName": "clustering", "primaryModelId": "smart",
                   "fallbackModelIds": ["fast", "gpt-5"]}],
 "defaultModelId": "fast"}
"""
PERSONA_UNKNOWN_PROVIDER = '{"entity": "system", "aliases": ["ei"], "model": "nosuch:model-1"}'

CASES = [
    (
        "wrong_type.yaml",
        ROLES_BAD_TYPE,
        ["wrong_type.yaml: roles.gatekeeper.temperature: must be a number"],
    ),
    (
        "unknown_provider.yaml",
        ROLES_UNKNOWN_PROVIDER,
        [
            # models a role names are checked before the roles themselves
            "unknown_provider.yaml: roles.lore_weaver.provider: unknown provider 'nosuch'",
            "unknown_provider.yaml: roles.gatekeeper.provider: unknown provider 'nosuch'",
        ],
    ),
    (
        "sum.yaml",
        SCENARIO_SUM,
        [
            "sum.yaml: scenarios[mixed_5_5].model_distribution: "
            "scenario mixed_5_5 assigns 9 agents, but its group_size is 10",
        ],
    ),
    (
        "capability.yaml",
        UNKNOWN_CAPABILITY,
        [
            "capability.yaml: tasks[response].requirements.telepathy: unknown capability"
            " 'telepathy'",
        ],
    ),
    (
        "env.yaml",
        UNSET_ENV,
        [
            "env.yaml: providers.text.openai.api_key: ${QF_TEST_NOWHERE_KEY} names no"
            " environment variable"
            " (set it, or import with --allow-unset-env)",
        ],
    ),
    (
        "modelRegistry.json",
        REGISTRY_UNKNOWN_ID,
        [
            "modelRegistry.json: taskMappings[clustering].primaryModelId: unknown model id"
            " 'smart' (not in models)",
            "modelRegistry.json: taskMappings[clustering].fallbackModelIds[1]: unknown model id"
            " 'gpt-5' (not in models)",
        ],
    ),
    ("system.jsonc", PERSONA_UNKNOWN_PROVIDER, ["system.jsonc: model: unknown provider 'nosuch'"]),
    (
        "broken.yaml",
        "roles:\n  gatekeeper: [1, 2\n  scene_smith: {}\n",
        [
            "broken.yaml: line 3, column 14: not valid YAML: expected ',' or ']', but got ':'",
        ],
    ),
    (
        "broken.json",
        '{"models": [\n  {"id": "a",}\n  "x"\n]}',
        ['broken.json: line 3: Unexpected """ at column 3'],
    ),
    (
        "unknown.yaml",
        "colour: blue\nsize: 3\n",
        [
            "unknown.yaml: unknown format: expected a qfweb export (qfweb: 1), per-role YAML"
            " (roles:, providers:),"
            " a model registry (models:, taskMappings:), multi-model YAML (model_configs:,"
            " scenarios:) or a"
            " persona file (entity:, aliases:); use --format to choose one of: qfweb, roles,"
            " registry,"
            " multimodel, persona",
        ],
    ),
    (
        "default.yaml",
        "providers:\n  text:\n    default: nowhere\n",
        ["default.yaml: providers.text.default: unknown provider 'nowhere'"],
    ),
    ("empty.yaml", "# nothing here\n", ["empty.yaml: the file is empty"]),
    (
        "list.yaml",
        "- a\n- b\n",
        [
            "list.yaml: not a configuration: the top level must be an object (a mapping)",
        ],
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_it_rejects_a_bad_file_with_precise_errors_and_changes_nothing(
    name, text, expected, demo, store_snapshot, tmp_path, monkeypatch
):
    monkeypatch.delenv("QF_TEST_NOWHERE_KEY", raising=False)
    before = store_snapshot()
    path = tmp_path / name
    path.write_text(text)

    with pytest.raises(ImportFailed) as info:
        import_file(path, trust_private_urls=True)

    errors = [line.replace(f"{tmp_path}/", "") for line in info.value.report.errors]
    assert errors == expected
    assert store_snapshot() == before


def test_it_collects_every_error_of_a_file_before_writing_anything(demo, store_snapshot):
    before = store_snapshot()
    text = """\
qfweb: 1
providers:
  - {name: newco, kind: telepathic}
  - name: openai
    timeout_s: soon
    models:
      - {name: gpt-4o, context_window: 2.5, input_price: cheap}
personas:
  - {slug: scene_smith, params: {temperature: 3}}
  - {slug: newbie, fallbacks: [openai:gpt-4o, openai:gpt-4o]}
scenarios:
  - {name: mixed_5_5, group_size: 10, distribution: {openai:gpt-4o: 0}}
"""
    with pytest.raises(ImportFailed) as info:
        import_text(text, source="many.yaml")

    assert info.value.report.errors == [
        "many.yaml: providers[newco].kind: Value 'telepathic' is not a valid choice.",
        "many.yaml: providers[openai].timeout_s: must be an integer",
        "many.yaml: providers[openai].models[gpt-4o].context_window: must be an integer",
        "many.yaml: providers[openai].models[gpt-4o].input_price: must be a number",
        "many.yaml: personas[scene_smith].params.temperature: must be between 0 and 2",
        "many.yaml: personas[newbie].fallbacks[1]: openai:gpt-4o is listed twice",
        "many.yaml: scenarios[mixed_5_5].distribution.openai:gpt-4o: must be a positive whole"
        " number of agents",
    ]
    assert str(info.value).endswith("many.yaml: 7 errors; nothing was imported")
    assert store_snapshot() == before


def test_it_never_repeats_a_pasted_secret_in_its_error(db):
    text = "providers:\n  text:\n    openai: {api_key: sk-proj-abcdefghijklmnopqrstuvwxyz}\n"
    with pytest.raises(ImportFailed) as info:
        import_text(text, source="pasted.yaml")
    assert info.value.report.errors == [
        "pasted.yaml: providers.text.openai.api_key: must be a ${ENV_VAR} reference; secret"
        " values are not imported"
    ]
    assert "sk-proj" not in str(info.value)


def test_it_reports_the_dependants_of_a_failed_entry_once(db, store_snapshot):
    text = """\
qfweb: 1
providers:
  - {name: acme, kind: nosuchkind, models: [{name: one}]}
personas:
  - {slug: scene_smith, model: acme:one}
"""
    with pytest.raises(ImportFailed) as info:
        import_text(text, source="cascade.yaml")
    assert info.value.report.errors == [
        "cascade.yaml: providers[acme].kind: Value 'nosuchkind' is not a valid choice."
    ]


def test_it_rejects_unknown_sections_and_versions(db):
    with pytest.raises(ImportFailed) as info:
        import_text("qfweb: 2\nrolez: []\n", source="v2.yaml")
    assert info.value.report.errors == [
        "v2.yaml: qfweb: unsupported version 2; this qfweb reads version 1",
        "v2.yaml: rolez: unknown section (expected: qfweb, capabilities, providers, tasks,"
        " defaults, personas, scenarios)",
    ]


def test_it_refuses_an_unset_variable_unless_told_to_accept_it(db, monkeypatch):
    monkeypatch.delenv("QF_TEST_NOWHERE_KEY", raising=False)
    with pytest.raises(ImportFailed):
        import_text(UNSET_ENV, source="env.yaml")

    report = import_text(UNSET_ENV, source="env.yaml", allow_unset_env=True)

    assert (
        "not set in this environment, set before use: ${QF_TEST_NOWHERE_KEY}"
        " (providers.text.openai)" in report.notices
    )
    from routing.models import Provider

    assert Provider.objects.get(name="openai").credential_ref == "${QF_TEST_NOWHERE_KEY}"


def test_it_accepts_a_reference_to_a_variable_that_is_set(db, monkeypatch):
    monkeypatch.setenv("QF_TEST_NOWHERE_KEY", "sk-test")
    report = import_text(UNSET_ENV, source="env.yaml")
    assert report.notices == []
