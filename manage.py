#!/usr/bin/env python3
"""Django's command-line utility for openclaw."""

import os
import sys


def main() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036  # say so plainly instead of a SyntaxError later
        sys.exit(f"openclaw needs Python 3.12 or newer (found {sys.version.split()[0]}).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")
    # The state directory holds secrets, transcripts and memory: private to this user.
    os.umask(0o077)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  # loads openclaw/settings.py now
    except ImproperlyConfigured as exc:  # a bad variable: one clear line, not a traceback
        sys.exit(f"Configuration error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
