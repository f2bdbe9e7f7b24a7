"""What a check of `manage.py doctor` (and `onboard`) reports: a severity, what was found and how
to fix it. Never a secret's value."""

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "warning", "ok"]


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    what: str
    fix: str = ""
