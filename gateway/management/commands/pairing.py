"""`manage.py pairing list [--all] | approve CODE | deny CODE`: decide pairing requests."""

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from gateway import pairing
from gateway.models import PairingRequest

COLUMNS = ("CODE", "CHANNEL", "ACCOUNT", "SENDER", "NAME", "STATUS", "EXPIRES")


def _printable(text: str) -> str:
    """Sender-supplied text minus control characters (no terminal escapes from strangers)."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


class Command(BaseCommand):
    help = "List, approve or deny pairing requests from unknown direct-message senders."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Pending requests (all recent ones with --all).")
        listing.add_argument("--all", action="store_true", help="Include decided and expired.")
        for name in ("approve", "deny"):
            sub.add_parser(name, help=f"{name.capitalize()} a code.").add_argument("code")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self._list(options["all"])
            return
        decide = pairing.approve if action == "approve" else pairing.deny
        try:
            request = decide(options["code"], _cli_actor())
        except pairing.PairingError as exc:
            raise CommandError(str(exc)) from None
        sender = _printable(request.sender_id)
        self.stdout.write(f"{request.code}: {request.status} {sender} on {request.account}.")

    def _list(self, include_all: bool) -> None:
        pairing.expire_stale()
        qs = PairingRequest.objects.select_related("account")
        if not include_all:
            qs = qs.filter(status=PairingRequest.Status.PENDING)
        rows = [
            (
                r.code,
                r.account.channel,
                r.account.account_id,
                _printable(r.sender_id),
                _printable(r.display_name),
                r.status,
                timezone.localtime(r.expires_at).strftime("%Y-%m-%d %H:%M"),
            )
            for r in qs[:200]
        ]
        if not rows:
            self.stdout.write("No pending pairing requests." if not include_all else "None.")
            return
        widths = [
            min(32, max(len(str(c)) for c in col)) for col in zip(COLUMNS, *rows, strict=True)
        ]
        for row in (COLUMNS, *rows):
            cells = (str(c)[:w].ljust(w) for c, w in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
