"""Applying a Plan to the store through the services, one entry at a time.

Each entry runs in its own savepoint, so a bad entry is rolled back and reported while the
others still run: the operator sees every error of a file at once. The caller wraps the
whole run in one transaction and rolls it back when anything failed (or on a dry run).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from personas.configio.plan import Entry, Plan
from personas.configio.report import Report
from personas.services import persona_apply, scenario_apply
from qfweb.errors import FieldErrors, QfError, UnknownReference
from qfweb.redact import redact
from routing.handles import ENV_REF_RE
from routing.selectors import provider_find
from routing.services import (
    Upserted,
    capability_upsert,
    default_set,
    model_upsert,
    provider_upsert,
    task_upsert,
)


class Applier:
    def __init__(
        self, report: Report, *, actor: str, allow_unset_env: bool, trust_private_urls: bool
    ) -> None:
        self.report = report
        self.actor = actor
        self.allow_unset_env = allow_unset_env
        self.trust_private_urls = trust_private_urls
        self.failed: set[str] = set()  # refs of entries that failed: their dependants stay quiet
        self.reported: set[tuple[str, str]] = set()
        self.unset: dict[str, list[str]] = {}  # ${VAR} -> entries that reference it

    def apply(self, plan: Plan) -> None:
        """Write in dependency order, so that whatever an entry names exists before it."""
        self._each("capabilities", plan.capabilities, _capability)
        for entry in plan.providers:
            self._provider(entry, {k: v for k, v in entry.data.items() if k != "default_model"})
        for entry in plan.models:
            self._check_credential(entry, entry.data)
            self._run("models", entry, partial(_model, entry))
        for entry in plan.providers:  # default models exist only now
            if "default_model" in entry.data:
                self._provider(entry, {"default_model": entry.data["default_model"]})
        self._each("tasks", plan.tasks, _task)
        self._each("defaults", plan.defaults, _default)
        self._each("personas", plan.personas, partial(_persona, actor=self.actor))
        self._each("scenarios", plan.scenarios, _scenario)
        if self.unset:
            listed = "; ".join(f"{ref} ({', '.join(where)})" for ref, where in self.unset.items())
            self.report.notice(f"not set in this environment, set before use: {listed}")

    def _each(
        self, kind: str, entries: list[Entry], call: Callable[[Entry], Upserted[Any]]
    ) -> None:
        for entry in entries:
            self._run(kind, entry, partial(call, entry))

    def _provider(self, entry: Entry, data: dict[str, Any]) -> None:
        if _ref("providers", entry) in self.failed:
            return
        name = entry.key["name"]
        # A missing `google` is created as gemini with the alias google, so that the demo's
        # gemini and a registry's google end up one provider.
        if entry.create_as and not _exists(name):
            name = entry.create_as
        self._check_credential(entry, data)
        private_url = self._allow_private(data if "base_url" in data else entry.defaults)
        call = partial(provider_upsert, name=name, data=data, defaults=entry.defaults)
        result = self._run("providers", entry, call)
        if result is None or result.outcome == "unchanged":
            return
        if private_url:
            self.report.notice(
                f"{entry.locate('base_url')}: {redact(private_url)} is on a private network; "
                "allow_private_network is set (an operator's import is trusted)"
            )
        if result.outcome == "created" and "credential_ref" not in data:
            self._check_credential(entry, entry.defaults, notice_only=True)

    def _run(
        self, kind: str, entry: Entry, call: Callable[[], Upserted[Any]]
    ) -> Upserted[Any] | None:
        """Apply one entry in a savepoint; on failure report its errors, less those a failed
        entry it depends on has already explained."""
        try:
            with transaction.atomic():
                result = call()
        except FieldErrors as exc:
            errors = exc.errors
        except QfError as exc:
            errors = [exc]
        except (ValidationError, IntegrityError) as exc:
            # A backstop: the services turn these into QfError themselves.
            errors = [QfError(redact("; ".join(getattr(exc, "messages", [str(exc)]))))]
        else:
            self.report.record(kind, result.obj.pk, result.outcome)
            return result
        for error in errors:
            if isinstance(error, UnknownReference):
                if error.ref in self.failed or (entry.at, error.ref) in self.reported:
                    continue
                self.reported.add((entry.at, error.ref))
            self.report.error(entry.locate(error.field), error.message)
        self.failed.add(_ref(kind, entry))
        return None

    def _check_credential(
        self, entry: Entry, fields: dict[str, Any], *, notice_only: bool = False
    ) -> None:
        """A ${VAR} reference must name a variable that is set, unless the operator allows
        unset ones (keys to be set later). References the file did not write only warn."""
        ref = fields.get("credential_ref")
        match = ENV_REF_RE.match(ref) if isinstance(ref, str) else None
        if match is None or match[1] in os.environ:
            return
        if notice_only or self.allow_unset_env:
            self.unset.setdefault(ref, []).append(entry.at)
        else:
            self.report.error(
                entry.locate("credential_ref"),
                f"{ref} names no environment variable (set it, or import with --allow-unset-env)",
            )

    def _allow_private(self, fields: dict[str, Any]) -> str:
        """On a trusted import, a base URL on a loopback or private host (local Ollama, A1111)
        turns on allow_private_network. Link-local and metadata addresses never do."""
        url = fields.get("base_url")
        if not (self.trust_private_urls and isinstance(url, str) and _is_private(url)):
            return ""
        if fields.get("allow_private_network") is True:
            return ""
        fields["allow_private_network"] = True
        return url


_SINGULAR = {
    "capabilities": "capability",
    "providers": "provider",
    "models": "model",
    "tasks": "task",
    "defaults": "default",
    "personas": "persona",
    "scenarios": "scenario",
}


def _ref(kind: str, entry: Entry) -> str:
    """An entry's row as UnknownReference.ref names it: "provider openai", "model openai:o3"."""
    return f"{_SINGULAR[kind]} {':'.join(map(str, entry.key.values()))}"


def _capability(entry: Entry) -> Upserted[Any]:
    return capability_upsert(name=entry.key["name"], data=entry.data, defaults=entry.defaults)


def _model(entry: Entry) -> Upserted[Any]:
    provider, name = entry.key["provider"], entry.key["name"]
    return model_upsert(provider=provider, name=name, data=entry.data, defaults=entry.defaults)


def _task(entry: Entry) -> Upserted[Any]:
    return task_upsert(name=entry.key["name"], data=entry.data, defaults=entry.defaults)


def _default(entry: Entry) -> Upserted[Any]:
    return default_set(modality=entry.key["modality"], model=entry.data.get("model"))


def _persona(entry: Entry, *, actor: str) -> Upserted[Any]:
    return persona_apply(data=entry.data, actor=actor)


def _scenario(entry: Entry) -> Upserted[Any]:
    return scenario_apply(data={**entry.data, "name": entry.key["name"]})


def _exists(provider: str) -> bool:
    try:
        provider_find(provider)
    except UnknownReference:
        return False
    return True


def _is_private(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or (ip.is_private and not ip.is_link_local)
