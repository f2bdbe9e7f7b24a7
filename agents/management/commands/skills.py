"""`manage.py skills list [--agent SLUG] [--json]`: each agent's skills (its workspace's and the
shared ones), where each comes from and why one is not offered (malformed, shadowed, denied,
requirements not met on this host). Reads only."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.models import Agent
from agents.skills import shared_dir
from agents.skills_report import render_rows, skill_rows


class Command(BaseCommand):
    help = "List agents' skills and why any is unavailable."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="List skills and their state.")
        listing.add_argument(
            "--agent", metavar="SLUG", help="Only this agent (default: every one)."
        )
        listing.add_argument("--json", action="store_true", help="Machine-readable output.")

    def handle(self, *args: Any, **options: Any) -> None:
        agents = Agent.objects.order_by("slug")
        if options["agent"]:
            agents = agents.filter(slug=options["agent"])
            if not agents.exists():
                raise CommandError(f"No agent {options['agent']!r} (see the admin's Agents page).")
        report = {
            agent.slug: skill_rows(agent.workspace, agent.skills_allow, agent.skills_deny)
            for agent in agents
        }
        if options["json"]:
            data = {slug: [row.as_dict() for row in rows] for slug, rows in report.items()}
            self.stdout.write(json.dumps(data, indent=2))
            return
        self.stdout.write(f"Shared skills: {shared_dir()}")
        for agent in agents:
            self.stdout.write(
                f"\nAgent {agent.slug} (workspace skills: {agent.workspace / 'skills'})"
            )
            for line in render_rows(report[agent.slug]):
                self.stdout.write("  " + line)
