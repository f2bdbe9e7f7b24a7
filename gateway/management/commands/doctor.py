"""`manage.py doctor [--security] [--timeout S]`: configuration, database, model reachability
per agent, channel credentials, broker, lock, permissions, the Celery worker's heartbeat and the
last curation, each problem with its fix.

Exits non-zero when any finding is critical.
"""

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.operator.doctor import Finding, health_findings, security_findings
from gateway.operator.probes import reachability_findings
from gateway.operator.worker_health import worker_findings

LABELS = {"critical": "CRITICAL", "warning": "WARNING", "ok": "ok"}


class Command(BaseCommand):
    help = (
        "Check the installation: database, models, channel credentials, broker, lock, "
        "permissions and risky settings (--security: only the security audit)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--security", action="store_true", help="Only the security audit (no health checks)."
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            help="Seconds each network check (model, platform, broker) may take (default 10).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        findings: list[Finding] = []
        if not options["security"]:
            findings = health_findings()
            if not any(f.severity == "critical" for f in findings):  # needs the database
                findings += asyncio.run(reachability_findings(options["timeout"]))
                findings += worker_findings()
        findings += security_findings()
        for finding in findings:
            self._show(finding)
        critical = sum(f.severity == "critical" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        if not critical and not warnings:
            self.stdout.write("No problems found.")
        summary = f"{critical} critical, {warnings} warning(s)."
        if critical:
            raise CommandError(f"{summary} Fix the critical findings above.", returncode=1)
        self.stdout.write(summary)

    def _show(self, finding: Finding) -> None:
        self.stdout.write(f"{LABELS[finding.severity]:<9} {finding.what}")
        if finding.fix:
            self.stdout.write(f"{'':<9} fix: {finding.fix}")
