"""`manage.py mcp list | tools NAME | test NAME`: the configured MCP servers, the tools one offers
(as `<server>__<tool>`), and whether it starts and answers."""

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.mcp.config import ServerConfig, all_servers, server_named


class Command(BaseCommand):
    help = "List MCP servers, list one server's tools, or test that it starts and answers."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Every configured server.")
        for name, text in (("tools", "The tools a server offers."), ("test", "Start it, list.")):
            sub.add_parser(name, help=text).add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list()
            return
        config = server_named(options["name"])
        if config is None:
            raise CommandError(f"No MCP server named {options['name']!r} (see `mcp list`).")
        self._probe(config, show_tools=options["action"] == "tools")

    def _list(self) -> None:
        rows = all_servers()
        if not rows:
            self.stdout.write("No MCP servers configured (add one in the admin).")
            return
        for config, enabled, agents in rows:
            state = "enabled" if enabled else "disabled"
            used = ", ".join(agents) or "no agent"
            self.stdout.write(
                f"{config.name}\t{config.transport}\t{state}\t{used}\t{config.target}"
            )
            if config.missing:
                self.stdout.write(f"  not set: {', '.join(config.missing)}")

    def _probe(self, config: ServerConfig, *, show_tools: bool) -> None:
        from agents.mcp.probe import probe  # the SDK loads only for a command that needs it

        result = asyncio.run(probe(config))
        if not result.ok:
            raise CommandError(result.error)
        if show_tools:
            for name, description in result.tools:
                self.stdout.write(f"{name}\t{description}")
        else:
            self.stdout.write(
                f"{config.name}: ok in {result.seconds:.2f} s, {result.server or 'server'}, "
                f"{len(result.tools)} tools offered"
            )
        for name, why in result.skipped:
            self.stderr.write(f"skipped {name}: {why}")
