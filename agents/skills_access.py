"""read_file's one way out of the workspace, read-only: a file of a shared skill, named by the
absolute path the system prompt lists (`OPENCLAW_HOME/skills/<folder>/...`), when that folder
holds a well-formed skill the agent may use. write_file, edit_file and list_dir never leave the
workspace."""

import os
from pathlib import Path, PurePosixPath

from agents.services import AgentConfig
from agents.skills import permitted, scan, shared_dir
from agents.tools.base import ToolError


def shared_skill_file(agent: AgentConfig, user_path: str) -> tuple[Path, str]:
    """(the shared skills directory, `user_path` relative to it) for absolute `user_path`
    inside a shared skill `agent` may use; ToolError otherwise. The caller opens it below that
    directory like a workspace path (no `..`, no symlink out). Blocking: stats the directory."""
    root = shared_dir()
    relative = None
    for base in dict.fromkeys((os.fspath(root), os.path.realpath(root))):
        if user_path.startswith(base + os.sep):
            relative = user_path[len(base) + 1 :]
            break
    if relative is None:
        raise ToolError(
            f"{user_path!r} is not relative: give a path relative to the workspace (the only "
            "absolute paths read_file takes are the shared skills' your instructions list)."
        )
    parts = PurePosixPath(relative).parts
    if not parts or ".." in parts:
        raise ToolError(f"{user_path!r} does not name a file inside a shared skill's folder.")
    skill = next((s for s in scan(root, "shared") if s.folder == parts[0]), None)
    if skill is None or skill.problem:
        raise ToolError(f"{user_path!r} is not in a shared skill: check the skills list.")
    if not permitted(skill.name, agent.skills_allow, agent.skills_deny):
        raise ToolError(f"Skill {skill.name!r} is not enabled for this agent.")
    return root, relative
