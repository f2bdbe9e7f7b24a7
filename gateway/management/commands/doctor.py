"""`manage.py doctor [--security]`: list risky settings and health problems with their fixes.

Exits non-zero when any finding is critical.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway.doctor import Finding, health_findings, security_findings

LABELS = {"critical": "CRITICAL", "warning": "WARNING", "ok": "ok"}


class Command(BaseCommand):
    help = "Check the installation: risky security settings (--security) and database health."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--security", action="store_true", help="Only the security audit (no health checks)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        findings = ([] if options["security"] else health_findings()) + security_findings()
        for finding in findings:
            self._show(finding)
        critical = sum(f.severity == "critical" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        if not critical and not warnings:
            self.stdout.write("No risky settings found.")
        summary = f"{critical} critical, {warnings} warning(s)."
        if critical:
            raise CommandError(f"{summary} Fix the critical findings above.", returncode=1)
        self.stdout.write(summary)

    def _show(self, finding: Finding) -> None:
        self.stdout.write(f"{LABELS[finding.severity]:<9} {finding.what}")
        if finding.fix:
            self.stdout.write(f"{'':<9} fix: {finding.fix}")
