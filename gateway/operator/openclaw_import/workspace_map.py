"""OpenClaw workspaces into ours: the bootstrap files, HEARTBEAT.md, MEMORY.md, `memory/*.md`
(daily logs and named logs such as `memory/2026-11-02-meeting.md`) and `skills/` are copied
into `OPENCLAW_WORKSPACES/<slug>/`, then the agent's memory is synced into the database. A file
we already hold is left alone unless it is still our untouched template; the originals are
only read."""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from agents.models import Agent
from agents.services import ensure_workspace
from agents.workspace import BOOTSTRAP_FILES, TEMPLATE_DIR
from gateway.operator.openclaw_import.plan import Step, create, skip, unmapped
from gateway.operator.openclaw_import.source import AgentEntry, Source
from memory.sync import sync_agent

TOP_FILES = (*BOOTSTRAP_FILES, "HEARTBEAT.md", "MEMORY.md")
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass
class Copies:
    """What to copy where (source → target, relative target names), and what is left."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    same: int = 0
    templates: int = 0
    conflicts: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def _wanted(folder: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """(source file, relative target) pairs, and the top-level names not carried over."""
    pairs: list[tuple[Path, str]] = []
    for name in TOP_FILES:
        if (folder / name).is_file():
            pairs.append((folder / name, name))
    if not (folder / "MEMORY.md").is_file() and (folder / "memory.md").is_file():
        pairs.append((folder / "memory.md", "MEMORY.md"))  # older workspaces' spelling
    for sub in ("memory", "skills"):
        root = folder / sub
        if not root.is_dir() or root.is_symlink():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(folder)
            if sub == "memory" and (path.suffix != ".md" or len(relative.parts) != 2):
                continue
            if not any(part.startswith(".") for part in relative.parts):
                pairs.append((path, relative.as_posix()))
    taken = {*TOP_FILES, "memory.md", "memory", "skills"}
    left = sorted(
        entry.name + ("/" if entry.is_dir() else "")
        for entry in os.scandir(folder)
        if entry.name not in taken and not entry.name.startswith(".")
    )
    return pairs, left


def _templates(agent: Agent | None, slug: str) -> dict[str, set[str]]:
    """Our template texts per file name, as an agent of this name would have got them."""
    names = {slug, slug.capitalize()} | ({agent.name} if agent is not None else set())
    found: dict[str, set[str]] = {}
    for template in TEMPLATE_DIR.glob("*.md"):
        text = template.read_text(encoding="utf-8")
        found[template.name] = {text.replace("{name}", name) for name in names}
    return found


def compare(folder: Path, target: Path, agent: Agent | None, slug: str) -> Copies:
    pairs, left = _wanted(folder)
    copies = Copies(left=left)
    templates = _templates(agent, slug)
    for source, relative in pairs:
        if source.stat().st_size > MAX_FILE_BYTES:
            copies.conflicts.append(f"{relative} is larger than 16 MB; copy it by hand")
            continue
        existing = target / relative
        if not existing.is_file():
            copies.files.append((source, relative))
            continue
        ours = existing.read_bytes()
        if ours == source.read_bytes():
            copies.same += 1
        elif ours.decode("utf-8", "replace") in templates.get(relative, set()):
            copies.files.append((source, relative))
            copies.templates += 1
        else:
            copies.conflicts.append(f"{relative} differs from ours, which was kept")
    return copies


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.import-tmp")
    shutil.copy2(source, temp)
    os.replace(temp, target)


def plan_workspace(source: Source, entry: AgentEntry, agent_ok: bool) -> Step:
    folder = source.workspace_of(entry)
    kind, name = "workspace", entry.slug
    if not agent_ok:
        return unmapped(kind, name, "its agent is not imported")
    if folder is None:
        return unmapped(kind, name, "no workspace folder found; ours starts from the templates")
    agent = Agent.objects.filter(slug=entry.slug).first()
    target = Agent(slug=entry.slug).workspace
    if folder.resolve() == target.resolve():
        return skip(kind, name, f"{folder} is already this agent's workspace")
    copies = compare(folder, target, agent, entry.slug)
    notes = copies.conflicts + (
        [f"{', '.join(copies.left)} in {folder}: not part of a workspace here; copy by hand"]
        if copies.left
        else []
    )
    if not copies.files:
        step = skip(kind, name, f"{copies.same} files identical")
        step.notes = notes
        return step
    logs = sum(1 for _, relative in copies.files if relative.startswith("memory/"))

    def apply() -> str | None:
        for path, relative in copies.files:
            _copy(path, target / relative)
        agent = Agent.objects.get(slug=entry.slug)
        ensure_workspace(agent)  # the templates for whatever OpenClaw did not have
        report = sync_agent(agent)
        return f"memory synced ({len(report.changed)} files)"

    detail = (
        f"{len(copies.files)} files from {folder} ({logs} in memory/"
        + (f", {copies.templates} replace untouched templates" if copies.templates else "")
        + (f", {copies.same} identical" if copies.same else "")
        + ")"
    )
    step = create(kind, name, detail, apply)
    step.notes = notes
    return step


def plan_shared_skills(source: Source) -> list[Step]:
    """OpenClaw's skills for every agent (`<state>/skills/`) into `OPENCLAW_HOME/skills/`."""
    folder = source.home / "skills"
    if not folder.is_dir():
        return []
    target = Path(settings.OPENCLAW_HOME) / "skills"
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()]
    files = [p for p in files if not any(x.startswith(".") for x in p.relative_to(folder).parts)]
    if not files:
        return []
    todo: list[Path] = []
    conflicts: list[str] = []
    same = 0
    for path in files:
        existing = target / path.relative_to(folder)
        if not existing.is_file():
            todo.append(path)
        elif existing.read_bytes() == path.read_bytes():
            same += 1
        else:
            conflicts.append(f"{existing} differs from OpenClaw's; ours was kept")
    if not todo:
        step = skip("skills", "shared", f"{same} files identical")
    else:

        def apply() -> str | None:
            for path in todo:
                _copy(path, target / path.relative_to(folder))
            return None

        step = create("skills", "shared", f"{len(todo)} files into {target}", apply)
    step.notes = conflicts
    return [step]
