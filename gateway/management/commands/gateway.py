"""`manage.py gateway`: the whole gateway, one process (Daphne in-process plus the runtime)."""

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from gateway.lock import AlreadyRunning, InstanceLock
from gateway.operator.cli import dial_address
from gateway.operator.doctor import is_loopback_host


class Command(BaseCommand):
    help = "Run the openclaw gateway (HTTP, WebSockets, platform connections, agent runs)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind", default=settings.OPENCLAW_BIND, help="Interface (default %(default)s)."
        )
        parser.add_argument(
            "--port", type=int, default=settings.OPENCLAW_PORT, help="Port (default %(default)s)."
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Run no embedded Celery worker and beat (they run separately); also "
            "OPENCLAW_WORKER=0.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not is_loopback_host(options["bind"]) and not settings.OPENCLAW_GATEWAY_TOKEN_FROM_ENV:
            raise CommandError(
                f"Refusing to listen on {options['bind']} without OPENCLAW_GATEWAY_TOKEN: set a "
                "strong token (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
                " in the environment, or bind to 127.0.0.1."
            )
        executor = MigrationExecutor(connections["default"])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError(
                "The database is not up to date: run `python manage.py migrate` first."
            )
        lock = InstanceLock(Path(settings.OPENCLAW_HOME) / "gateway.lock")
        try:
            lock.acquire()
        except AlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        connections.close_all()  # the server's threads open their own
        worker = settings.OPENCLAW_WORKER and not options["no_worker"]
        try:
            code = self._serve(lock, options["bind"], options["port"], worker)
        finally:
            lock.release()
        if code:
            sys.exit(code)

    def _serve(self, lock: InstanceLock, host: str, port: int, worker: bool) -> int:
        from gateway.server import serve  # installs the asyncio reactor: import late, on purpose
        from openclaw.asgi import build_application

        def ready() -> None:
            home = Path(settings.OPENCLAW_HOME)
            lock.publish(dial_address(host, port))  # `status` & co. find us on any port
            self.stdout.write(
                f"openclaw gateway ready on http://{host}:{port}/ (state: {home}; "
                f"gateway token in {home / 'gateway.token'} unless OPENCLAW_GATEWAY_TOKEN is set)"
            )
            self.stdout.write(
                "Celery worker with beat: embedded (curation and maintenance run here)"
                if worker
                else "Celery worker: not embedded (--no-worker or OPENCLAW_WORKER=0): run "
                "`celery -A openclaw worker --beat` separately, or curation never runs"
            )
            self.stdout.flush()

        return serve(build_application(), host=host, port=port, on_ready=ready, worker=worker)
