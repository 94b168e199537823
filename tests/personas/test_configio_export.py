"""The export: the whole configuration, and never a secret."""

from __future__ import annotations

import json

import pytest
import yaml

from personas.configio import export_document, export_text, import_text
from qfweb.crypto import encrypt
from routing.models import Generation, Provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_dns")]
SECRET = "sk-proj-never-leaves-1234567890abcdef"


def test_it_never_exports_a_stored_secret(demo):
    token = encrypt(SECRET)
    Provider.objects.filter(name="openai").update(credential_encrypted=token)

    for fmt in ("yaml", "json"):
        text = export_text(fmt=fmt)
        assert SECRET not in text and token not in text
        assert "credential_encrypted" not in text
        assert "${OPENAI_API_KEY}" in text


def test_importing_an_export_leaves_a_stored_secret_alone(demo):
    token = encrypt(SECRET)
    Provider.objects.filter(name="openai").update(credential_encrypted=token)
    exported = export_text(fmt="yaml")

    import_text(exported, source="export.yaml", allow_unset_env=True)

    assert Provider.objects.get(name="openai").credential_encrypted == token


def test_it_writes_the_native_document_in_both_formats(demo):
    as_yaml = yaml.safe_load(export_text(fmt="yaml"))
    as_json = json.loads(export_text(fmt="json"))
    assert as_yaml == as_json == json.loads(json.dumps(export_document()))
    assert list(as_json) == [
        "qfweb",
        "capabilities",
        "providers",
        "tasks",
        "defaults",
        "personas",
        "scenarios",
    ]
    assert as_json["defaults"] == {
        "audio": "echo:echo-speech",
        "image": "echo:echo-image",
        "text": "echo:echo",
    }
    openai = next(p for p in as_json["providers"] if p["name"] == "openai")
    gpt = next(m for m in openai["models"] if m["name"] == "gpt-4o")
    assert (gpt["input_price"], gpt["output_price"], gpt["capabilities"]["reasoning"]) == (
        2.5,
        10,
        "strong",
    )
    response = next(t for t in as_json["tasks"] if t["name"] == "response")
    assert response["fallbacks"] == ["anthropic:claude-3-5-sonnet-latest", "gemini:gemini-1.5-pro"]
    assert response["requirements"] == {"creative": "moderate"}


def test_it_leaves_out_usage_and_history(demo):
    Generation.objects.create(
        persona_slug="scene_smith", served_handle="openai:gpt-4o", requested_override="marker-xyz"
    )
    text = export_text(fmt="json")
    assert "marker-xyz" not in text and "created_at" not in text and "health_state" not in text


def test_multi_line_prompts_are_written_as_blocks(demo):
    assert "  system_prompt: |\n    You are Scene Smith." in export_text(fmt="yaml")
