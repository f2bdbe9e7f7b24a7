"""An agent's skills as the operator sees them (the admin's Agent page, `manage.py skills list`):
each skill, where it comes from, the path the model reads it by, and why one is not offered."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.skills import Status, discover, prompt_path, states


@dataclass(frozen=True, slots=True)
class SkillRow:
    name: str
    source: str  # "workspace" or "shared"
    status: Status
    detail: str  # the description when available, else the reason it is not offered
    path: str  # the path read_file takes (the folder's, for a malformed skill)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def skill_rows(workspace: Path | str, allow: Iterable[str], deny: Iterable[str]) -> list[SkillRow]:
    """Every skill folder an agent with this workspace and these lists has, by name.
    Blocking: reads the skills directories."""
    rows = []
    for state in states(discover(workspace), allow, deny):
        skill = state.skill
        detail = skill.description if state.status == "available" else state.reason
        path = skill.path if skill.problem else prompt_path(skill)
        rows.append(SkillRow(skill.name, skill.source, state.status, detail, path))
    return rows


def render_rows(rows: list[SkillRow], width: int = 60) -> list[str]:
    """A plain-text table (details cut to `width` characters), or a line saying there is none."""
    if not rows:
        return ["(no skills: add folders with a SKILL.md under skills/)"]
    table = [("NAME", "SOURCE", "STATUS", "DETAIL", "PATH")]
    for row in rows:
        detail = row.detail if len(row.detail) <= width else row.detail[: width - 1] + "…"
        table.append((row.name, row.source, row.status, detail, row.path))
    sizes = [max(len(line[i]) for line in table) for i in range(4)]
    return [
        "  ".join(cell.ljust(size) for cell, size in zip(line[:4], sizes, strict=True))
        + "  "
        + line[4]
        for line in table
    ]
