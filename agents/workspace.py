"""Agent workspaces on disk: creation from templates and reading the bootstrap files."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

BOOTSTRAP_FILES = ("AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "TOOLS.md", "MEMORY.md")
TEMPLATE_DIR = Path(settings.BASE_DIR) / "templates" / "workspace"


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


def read_bootstrap_files(path: Path) -> list[WorkspaceFile]:
    """The bootstrap files present in the workspace, in prompt order (missing ones skipped)."""
    files = []
    for name in BOOTSTRAP_FILES:
        try:
            content = (path / name).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError):
            continue
        files.append(WorkspaceFile(name, content))
    return files
