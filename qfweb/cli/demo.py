"""`qf demo`: load the demo configuration and make sure someone can sign in."""

from __future__ import annotations

import os
import secrets
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import OutputWrapper
from django.db import transaction

from personas.configio.demo import demo_load

demo_help = (
    "Load the demo providers, models, tasks, roles, personas and scenarios (running it again "
    "changes nothing), and create a superuser when there is none."
)


def add_demo_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="report what would change; write nothing"
    )


def run_demo(options: dict[str, Any], out: OutputWrapper) -> None:
    out.write(demo_load(dry_run=options["dry_run"]).render())
    if not options["dry_run"]:
        ensure_admin(out)


@transaction.atomic
def ensure_admin(out: OutputWrapper) -> None:
    """Create the first superuser: QF_DEMO_ADMIN_USER (admin) with QF_DEMO_ADMIN_PASSWORD,
    or a random password printed this once, since it is stored only as a hash."""
    users = get_user_model()
    if users.objects.filter(is_superuser=True).exists():
        return
    username = os.environ.get("QF_DEMO_ADMIN_USER") or "admin"
    if users.objects.filter(username=username).exists():
        out.write(f"notice: user {username} exists but is not a superuser; no admin was created")
        return
    given = os.environ.get("QF_DEMO_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    users.objects.create_superuser(username=username, email="", password=password)
    out.write(f"Created superuser {username}")
    if not given:
        out.write(f"admin password: {password}")
