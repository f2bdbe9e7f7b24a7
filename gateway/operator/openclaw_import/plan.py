"""The import plan and its report: one `Step` per thing found in the OpenClaw directory, what
will become of it (created, updated, already imported, not mapped and why), and the change
that makes it so. A dry run prints the plan; a real run applies each step and prints it too."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["create", "update", "skip", "unmapped"]
LABELS: dict[Action, str] = {
    "create": "import",
    "update": "update",
    "skip": "already imported",
    "unmapped": "not imported",
}


class NotApplied(Exception):
    """Raised by a step's `apply` when it turns out, at apply time, that the item cannot be
    imported (a limit reached, what it belongs to missing): reported with the reason."""


@dataclass
class Step:
    """`apply` makes the change (None for skips and unmapped items); it returns extra detail
    to report, or None. `notes` are parts that could not be carried over, with the reason."""

    kind: str
    name: str
    action: Action
    detail: str = ""
    apply: Callable[[], str | None] | None = None
    notes: list[str] = field(default_factory=list)


def create(kind: str, name: str, detail: str, apply: Callable[[], str | None]) -> Step:
    return Step(kind, name, "create", detail, apply)


def skip(kind: str, name: str, detail: str = "") -> Step:
    return Step(kind, name, "skip", detail)


def unmapped(kind: str, name: str, reason: str) -> Step:
    return Step(kind, name, "unmapped", reason)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    def add(self, steps: Iterable[Step]) -> None:
        self.steps.extend(steps)

    def count(self, action: Action) -> int:
        return sum(1 for step in self.steps if step.action == action)

    @property
    def changes(self) -> int:
        return self.count("create") + self.count("update")


def render(plan: Plan, *, dry_run: bool) -> Iterator[str]:
    """The report, one line a step (its notes indented below), then the totals."""
    for step in plan.steps:
        label = LABELS[step.action]
        if dry_run and step.action in ("create", "update"):
            label = f"would {label}"
        detail = f": {step.detail}" if step.detail else ""
        yield f"[{label}] {step.kind} {step.name}{detail}"
        for note in step.notes:
            yield f"    not carried over: {note}"
    verb = "would change" if dry_run else "changed"
    yield (
        f"{plan.changes} {verb}, {plan.count('skip')} already imported, "
        f"{plan.count('unmapped')} not imported"
        + (" (dry run: nothing was written)" if dry_run else "")
    )
