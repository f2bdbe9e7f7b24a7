#!/usr/bin/env python3
"""Django's command-line utility for openclaw (installed, the same commands are `openclaw …`)."""

import sys


def main() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036  # say so plainly instead of a SyntaxError later
        sys.exit(f"openclaw needs Python 3.12 or newer (found {sys.version.split()[0]}).")
    from openclaw.cli import main as run_command

    run_command(sys.argv)


if __name__ == "__main__":
    main()
