"""`manage.py dashboard [--open]`: the web chat's link with the gateway token, for this host's
gateway (OPENCLAW_PUBLIC_URL behind a proxy, else the running one's address from its lock file,
else OPENCLAW_BIND and OPENCLAW_PORT)."""

import webbrowser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.lock import running_gateway
from gateway.operator.cli import chat_link


class Command(BaseCommand):
    help = (
        "Print the web chat's link with the gateway token in it (treat it like a password); "
        "--open opens it in a browser."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--open", action="store_true", help="Open the link in a browser.")

    def handle(self, *args: Any, **options: Any) -> None:
        link = chat_link(settings.OPENCLAW_GATEWAY_TOKEN)
        if running_gateway(Path(settings.OPENCLAW_HOME) / "gateway.lock") is None:
            self.stderr.write(
                f"No gateway is running on {settings.OPENCLAW_HOME}: start it (`manage.py "
                "gateway`); the link works once it serves."
            )
        self.stdout.write(link)
        if options["open"] and not webbrowser.open(link):
            raise CommandError("No browser could be opened here: open the link above yourself.")
