"""`manage.py status [--json]`: channel accounts, today's sessions and usage, pending pairing
requests and, if a gateway answers, its runtime state. Reads only."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gateway.operator.statusreport import gather_status, render_status


class Command(BaseCommand):
    help = "Show channels, sessions, today's usage, pairing requests and the gateway's state."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        status = gather_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2))
            return
        for line in render_status(status):
            self.stdout.write(line)
