#!/usr/bin/env python
"""Django's command-line utility for qfweb."""
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qfweb.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration mistake deserves one line naming the variable, not a traceback.
        sys.exit(
            f"qfweb: {exc}\n(production is the default; for the embedded dev mode run "
            "`python3 dev.py manage ...` or set QF_ENV=dev)"
        )


if __name__ == "__main__":
    main()
