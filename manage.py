#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "devplat.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from devplat.embedded import EmbeddedServerError

    try:
        execute_from_command_line(sys.argv)
    except (EmbeddedServerError, ImproperlyConfigured) as exc:
        # Configuration and start-up problems are the user's to fix: say what, not where in our code.
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
