"""`manage.py import-openclaw [PATH] [--dry-run]`: bring an OpenClaw state directory (default
~/.openclaw) into this gateway; safe to run again (what was imported is skipped and reported).
The module name is hyphenated because Django names a command after its module."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.operator.openclaw_import.plan import render
from gateway.operator.openclaw_import.runner import NotReady, apply, build_plan
from gateway.operator.openclaw_import.source import SourceError


class Command(BaseCommand):
    help = (
        "Import an OpenClaw state directory: agents, workspaces and memory, channel accounts, "
        "session transcripts and cron jobs. What cannot be mapped is listed with the reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default="~/.openclaw", help="Default ~/.openclaw.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = build_plan(Path(options["path"]).expanduser())
        except (SourceError, NotReady) as exc:
            raise CommandError(str(exc)) from None
        failures = 0 if options["dry_run"] else apply(plan)
        for line in render(plan, dry_run=options["dry_run"]):
            self.stdout.write(line)
        if failures:
            raise CommandError(f"{failures} steps failed (see above); run again to retry them.")
