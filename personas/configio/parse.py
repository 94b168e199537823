"""Reading a configuration file's text and telling which of the formats it is in."""

from __future__ import annotations

import re
from typing import Any

import json5
import yaml

from qfweb.errors import QfError

FORMATS = {
    "qfweb": "qfweb document",
    "roles": "per-role YAML",
    "registry": "model registry JSON",
    "multimodel": "multi-model YAML",
    "persona": "persona JSONC",
}
_JSON5_ERROR = re.compile(r"^<string>:(\d+) (.*)$", re.S)


class ParseError(QfError):
    code = "parse_error"


def parse_text(text: str) -> Any:
    """YAML, or JSON with comments (JSONC, source document 003) when it looks like JSON."""
    # Only JSONC may start with // or /* (YAML would reject them); skip them to find out.
    body = re.sub(r"^(\s*(//[^\n]*|/\*.*?\*/))*", "", text, flags=re.S).lstrip()
    if body.startswith(("{", "[")):
        try:
            return json5.loads(text)
        except ValueError as exc:
            match = _JSON5_ERROR.match(str(exc))
            raise ParseError(
                f"line {match[1]}: {match[2]}" if match else f"not valid JSON: {exc}"
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ParseError(f"{where}not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def detect_format(doc: Any) -> str:
    """Which format a parsed document is in, from its top-level keys."""
    if not isinstance(doc, dict):
        raise ParseError("not a configuration: the top level must be an object (a mapping)")
    keys = set(doc)
    # The most specific marker first: a qfweb document also has providers and personas.
    if "qfweb" in keys:
        return "qfweb"
    if keys & {"taskMappings", "defaultModelId"} or _is_registry_models(doc.get("models")):
        return "registry"
    if keys & {"model_configs", "ENABLE_MULTI_MODEL", "NUM_AGENTS"}:
        return "multimodel"
    if "roles" in keys or _has_modality_sections(doc.get("providers")):
        return "roles"
    if "entity" in keys or ("aliases" in keys and "model" in keys):
        return "persona"
    raise ParseError(
        "unknown format: expected a qfweb export (qfweb: 1), per-role YAML (roles:, providers:),"
        " a model registry (models:, taskMappings:), multi-model YAML (model_configs:, scenarios:)"
        " or a persona file (entity:, aliases:);"
        f" use --format to choose one of: {', '.join(FORMATS)}"
    )


def _is_registry_models(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(m, dict) and "modelName" in m for m in value)


def _has_modality_sections(value: Any) -> bool:
    return isinstance(value, dict) and bool(set(value) & {"text", "image", "audio"})
