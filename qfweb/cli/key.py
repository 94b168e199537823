"""`qf key create|list|revoke`: client API keys from the command line. Issuing and revoking
are `personas.keys`; the plaintext is printed once, by `create`, and kept nowhere."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import OutputWrapper
from django.utils import timezone

from personas.keys import api_key_issue, api_key_revoke
from personas.models import ApiKey, Persona
from personas.selectors import rows_named
from qfweb.cli import table
from qfweb.errors import QfError
from routing.models import Task

key_help = "Issue, list or revoke client API keys (a new key is shown once)."
LIST_HEADER = ["PREFIX", "NAME", "SCOPES", "LAST USED", "REVOKED"]


def add_key_arguments(parser: ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))

    create = actions.add_parser("create", help="issue a key and print it this once")
    create.add_argument("--name", required=True, help="who the key is for")
    personas = create.add_mutually_exclusive_group()
    personas.add_argument(
        "--persona", action="extend", nargs="+", default=[], metavar="SLUG",
        help="a persona the key may act as (repeatable)",
    )
    personas.add_argument("--all-personas", action="store_true", help="every persona")
    tasks = create.add_mutually_exclusive_group()
    tasks.add_argument(
        "--task", action="extend", nargs="+", default=[], metavar="NAME",
        help="a task the key may run (repeatable)",
    )
    tasks.add_argument("--all-tasks", action="store_true", help="every task")
    create.add_argument("--override", action="store_true", help="may choose models per request")
    create.add_argument("--write", action="store_true", help="may change the store by the API")
    create.add_argument("--rpm", type=_rpm, metavar="N", help="requests a minute (default: none)")
    create.add_argument("--budget", type=_usd, metavar="USD", help="monthly budget (default: none)")

    actions.add_parser("list", help="every key: prefix, name, scopes, last use, revocation")

    revoke = actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("prefix", help="the key's prefix (qf_XXXXXXXX)")


def run_key(options: dict[str, Any], out: OutputWrapper) -> None:
    {"create": _create, "list": _list, "revoke": _revoke}[options["action"]](options, out)


def _create(options: dict[str, Any], out: OutputWrapper) -> None:
    issued = api_key_issue(
        name=options["name"],
        personas=_named(Persona, "slug", options["persona"], "--persona"),
        tasks=_named(Task, "name", options["task"], "--task"),
        all_personas=options["all_personas"],
        all_tasks=options["all_tasks"],
        may_override=options["override"],
        may_write=options["write"],
        rate_limit_rpm=options["rpm"],
        monthly_budget=options["budget"],
    )
    out.write(issued.plaintext)
    out.write("Copy this key now: it will not be shown again (only its hash is stored).")
    out.write(f"Prefix: {issued.api_key.prefix}")
    out.write(f"Scopes: {scopes(issued.api_key)}")


def _list(options: dict[str, Any], out: OutputWrapper) -> None:
    keys = ApiKey.objects.prefetch_related("personas", "tasks").order_by("name", "prefix")
    rows = [
        [k.prefix, k.name, scopes(k), _when(k.last_used_at), _when(k.revoked_at)] for k in keys
    ]
    if not rows:
        out.write("No API keys. Issue one with `qf key create --name NAME`.")
        return
    for line in table([LIST_HEADER, *rows]):
        out.write(line)


def _revoke(options: dict[str, Any], out: OutputWrapper) -> None:
    prefix = options["prefix"]
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None:
        raise QfError(f"no API key with prefix {prefix!r}")
    if api_key.revoked_at is not None:
        revoked = _when(api_key.revoked_at)
        out.write(f"Key {prefix} ({api_key.name}) was already revoked at {revoked}")
        return
    api_key_revoke(api_key=api_key)
    out.write(f"Revoked key {prefix} ({api_key.name}): it is refused from the next request on")


def scopes(api_key: ApiKey) -> str:
    """One line: personas; tasks; override, write, limits (prefetched relations)."""
    personas = ",".join(sorted(p.slug for p in api_key.personas.all()))
    tasks = ",".join(sorted(t.name for t in api_key.tasks.all()))
    parts = [
        f"personas {'all' if api_key.all_personas else personas or 'none'}",
        f"tasks {'all' if api_key.all_tasks else tasks or 'none'}",
    ]
    flags = {"override": api_key.may_override, "write": api_key.may_write}
    parts += [flag for flag, on in flags.items() if on]
    if api_key.rate_limit_rpm:
        parts.append(f"{api_key.rate_limit_rpm}/min")
    if api_key.monthly_budget is not None:
        parts.append(f"${api_key.monthly_budget:.2f}/month")
    return "; ".join(parts)


def _named(
    model: type[Persona] | type[Task], attribute: str, names: list[str], option: str
) -> list[Any]:
    rows, unknown = rows_named(model.objects.all(), attribute, names)
    if unknown:
        what = "persona" if model is Persona else "task"
        raise QfError(f"unknown {what} {', '.join(unknown)}", field=option)
    return rows


def _when(moment: Any) -> str:
    return "-" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _rpm(value: str) -> int:
    if not value.isdecimal() or not 0 < int(value) < 2**31:
        raise ArgumentTypeError(f"must be a whole number of requests a minute, not {value!r}")
    return int(value)


def _usd(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal("NaN")
    # The column holds 12 digits, 2 of them cents.
    if not (amount.is_finite() and 0 <= amount < 10**10 and amount == round(amount, 2)):
        raise ArgumentTypeError(f"must be an amount in USD such as 25 or 12.50, not {value!r}")
    return amount
