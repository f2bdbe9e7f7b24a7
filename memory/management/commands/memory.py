"""`manage.py memory sync | reindex [--agent SLUG] | search QUERY [--agent SLUG] [--json]`."""

import asyncio
import json
import textwrap
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agents.services import NotFound
from memory import services
from memory.embeddings import embed_pending, embed_query
from openclaw.progress import ProgressBar


class Command(BaseCommand):
    help = "Sync memory files with the database, rebuild the search index, or search."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sync", help="Pick up memory files changed on disk (all agents).")
        reindex = sub.add_parser("reindex", help="Sync, then rebuild every search chunk.")
        reindex.add_argument("--agent", help="Only this agent's memory.")
        search = sub.add_parser("search", help="Search an agent's memory.")
        search.add_argument("query")
        search.add_argument("--agent", default=settings.OPENCLAW_DEFAULT_AGENT)
        search.add_argument("--max-results", type=int, default=6)
        search.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except NotFound as error:
            raise CommandError(str(error)) from None

    def _sync(self, options: dict[str, Any]) -> None:
        for report in services.sync_all():
            changed = ", ".join(report.changed) or "nothing changed"
            self.stdout.write(f"{report.agent}: {changed}")
            for path in report.missing:
                self.stdout.write(self.style.WARNING(f"{report.agent}: {path} is missing on disk"))

    def _reindex(self, options: dict[str, Any]) -> None:
        agent = options.get("agent")
        total = services.count_documents(agent)
        bar = ProgressBar(
            total, lambda text: self.stderr.write(text, ending=""), self.stderr.isatty()
        )
        chunks = services.reindex(agent, progress=bar.step)
        self.stdout.write(f"Indexed {chunks} chunks.")
        embedded = asyncio.run(embed_pending(agent, max_chunks=10**9))
        if embedded:
            self.stdout.write(f"Embedded {embedded} new chunks.")

    def _search(self, options: dict[str, Any]) -> None:
        vector = asyncio.run(embed_query(options["query"]))
        result = services.search_memory(
            options["agent"], options["query"], options["max_results"], vector
        )
        if options["json"]:
            hits = [hit.as_dict() for hit in result.hits]
            payload = {"query": result.query, "note": result.note, "hits": hits}
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        for hit in result.hits:
            self.stdout.write(
                f"{hit.path}:{hit.start_line}-{hit.end_line}  score {hit.score:.3f}\n"
                + textwrap.indent(hit.text, "    ")
            )
        if result.note:
            self.stdout.write(result.note)
