"""`manage.py curate --agent SLUG --date YYYY-MM-DD [--apply]`: one curation, inline."""

import datetime as dt
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agents.services import NotFound
from memory import curation, services
from memory.models import CurationRun
from memory.sync import MemoryConflict


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Run the nightly curation of one agent's day now: prints the summary, the proposed "
        "MEMORY.md diff and the run id (review it in the admin, or pass --apply)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--agent", required=True, help="Agent slug.")
        parser.add_argument("--date", required=True, type=_date, help="The day, YYYY-MM-DD.")
        parser.add_argument("--apply", action="store_true", help="Write the proposal at once.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = curation.curate(options["agent"], options["date"])
        except NotFound as error:
            raise CommandError(str(error)) from None
        if run is None:
            self.stdout.write(f"Nothing to curate: no log for {options['date']:%Y-%m-%d}.")
            return
        if run.status == CurationRun.Status.FAILED:
            raise CommandError(f"Curation failed (run {run.pk}): {run.error}")
        self.stdout.write(f"Curation run {run.pk} ({run.status}).\n\nSummary:\n{run.summary}\n")
        self.stdout.write(run.diff or "No changes proposed to MEMORY.md.")
        if options["apply"] and run.status == CurationRun.Status.PENDING:
            try:
                curation.apply_run(run.pk, "cli:curate")
            except (MemoryConflict, services.MemoryRefused) as error:
                raise CommandError(f"Not applied (run {run.pk} stays pending): {error}") from None
            self.stdout.write(f"Applied run {run.pk} to MEMORY.md.")
