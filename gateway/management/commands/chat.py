"""`manage.py chat [--agent SLUG] [--session KEY] [--url URL] [--message TEXT]`: talk to the
running gateway over its WebSocket, interactively or for one message."""

import asyncio
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.operator.cli import ChatClient, ChatFailed, default_ws_url, run_interactive, run_once


class Command(BaseCommand):
    help = "Chat with an agent through the running gateway (Ctrl-C aborts an answer, Ctrl-D quits)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agent", help="Agent slug (default: the gateway's default agent).")
        parser.add_argument("--session", help="Session key, e.g. agent:main:work.")
        parser.add_argument("--url", default=default_ws_url(), help="Default %(default)s.")
        parser.add_argument("--message", help="Send this one message, print the answer, exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        params = {k: options[k] for k in ("agent", "session") if options[k]}
        client = ChatClient(options["url"], settings.OPENCLAW_GATEWAY_TOKEN, sys.stdout, sys.stderr)
        try:
            if options["message"] is not None:
                ok = asyncio.run(run_once(client, options["message"], params))
            else:
                asyncio.run(run_interactive(client, params, sys.stdin, prompt=sys.stdin.isatty()))
                ok = True
        except ChatFailed as exc:
            raise CommandError(str(exc)) from None
        except (KeyboardInterrupt, asyncio.CancelledError):
            sys.exit(130)  # Ctrl-C outside a streaming run: quit quietly, like a shell
        if not ok:
            sys.exit(1)
