"""The `openclaw` command (installed with the package): `openclaw gateway`, `openclaw onboard`,
`openclaw doctor`… are manage.py's commands under a name of their own, so every management
command, including ones added later, is one without a list kept here."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run the management command named by `argv` (default: this process's arguments)."""
    args = list(sys.argv if argv is None else argv)
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
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
