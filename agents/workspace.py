"""Agent workspaces on disk: creation from templates and reading the bootstrap files.

MEMORY.md is not a bootstrap file: it belongs to the memory app (private sessions only), so
it is read through `memory.services`, never here.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

BOOTSTRAP_FILES = ("AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md")
TEMPLATE_DIR = Path(settings.BASE_DIR) / "openclaw" / "templates" / "workspace"

# path (as a string: hashing a Path costs more than the stat) → ((mtime_ns, size), content):
# a turn re-reads a file only when it changed on disk.
_cache: dict[str, tuple[tuple[int, int], str]] = {}


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    name: str
    content: str


def create_workspace(path: Path, *, agent_name: str) -> None:
    """Create the workspace from templates; existing files are never overwritten."""
    (path / "memory").mkdir(parents=True, exist_ok=True)
    (path / "skills").mkdir(exist_ok=True)
    for template in sorted(TEMPLATE_DIR.glob("*.md")):
        target = path / template.name
        if not target.exists():
            text = template.read_text(encoding="utf-8").replace("{name}", agent_name)
            target.write_text(text, encoding="utf-8")


def read_file_cached(path: Path | str) -> str | None:
    """The file's text (None if it is missing), re-read only when its mtime or size changed."""
    path = os.fspath(path)
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        _cache.pop(path, None)
        return None
    version = (info.st_mtime_ns, info.st_size)
    cached = _cache.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            content = file.read()
    except (FileNotFoundError, IsADirectoryError):
        return None
    _cache[path] = (version, content)
    return content


def read_bootstrap_files(path: Path) -> list[WorkspaceFile]:
    """The bootstrap files present in the workspace, in prompt order (missing ones skipped)."""
    files = []
    folder = os.fspath(path)
    for name in BOOTSTRAP_FILES:
        content = read_file_cached(os.path.join(folder, name))
        if content is not None:
            files.append(WorkspaceFile(name, content))
    return files
