#!/usr/bin/env python3
"""Django's command-line utility for openclaw."""

import os
import sys


def main() -> None:
    if sys.version_info < (3, 12):
        sys.exit("openclaw needs Python 3.12 or newer (found %d.%d)." % sys.version_info[:2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
