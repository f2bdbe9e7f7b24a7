"""read_file reaches a skill's files: the workspace's by their relative path, a shared skill's by
the absolute path the prompt lists, read-only, and nothing else outside the workspace."""

import dataclasses
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from agents.tools.base import ToolContext, ToolError
from agents.tools.files import ListDirTool, ReadFileTool, WriteFileTool
from tests.agents.test_skills import write_skill
from tests.agents.tool_context import make_ctx


@pytest.fixture
def shared(settings: Settings, tmp_path: Path) -> Path:
    settings.OPENCLAW_HOME = tmp_path / "home"
    root = tmp_path / "home" / "skills"
    write_skill(root, "weather", "name: weather\ndescription: d", "Call the forecast API.\n")
    (root / "weather" / "references").mkdir()
    (root / "weather" / "references" / "api.md").write_text("GET /forecast\n")
    (tmp_path / "home" / "secret.txt").write_text("top secret\n")
    return root


def ctx_for(
    tmp_path: Path, *, skills_allow: tuple[str, ...] = (), skills_deny: tuple[str, ...] = ()
) -> ToolContext:
    ctx = make_ctx(tmp_path / "ws")
    (tmp_path / "ws").mkdir(exist_ok=True)
    config = dataclasses.replace(
        ctx.session.agent, skills_allow=skills_allow, skills_deny=skills_deny
    )
    return dataclasses.replace(ctx, session=dataclasses.replace(ctx.session, agent=config))


async def read(ctx: ToolContext, path: str) -> str:
    return await ReadFileTool().run({"path": path}, ctx)


async def test_a_workspace_skill_is_read_by_its_relative_path(tmp_path: Path, shared: Path) -> None:
    write_skill(tmp_path / "ws" / "skills", "pdf", "name: pdf\ndescription: d", "Use pdftk.\n")
    text = await read(ctx_for(tmp_path), "skills/pdf/SKILL.md")
    assert "name: pdf" in text and "Use pdftk." in text


async def test_a_shared_skill_is_read_by_its_absolute_path(tmp_path: Path, shared: Path) -> None:
    ctx = ctx_for(tmp_path)
    assert "Call the forecast API." in await read(ctx, str(shared / "weather" / "SKILL.md"))
    assert "GET /forecast" in await read(ctx, str(shared / "weather" / "references" / "api.md"))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("{home}/secret.txt", "is not relative"),
        ("/etc/passwd", "is not relative"),
        ("{home}/skills/weather/../../secret.txt", "does not name a file inside"),
        ("{home}/skills/nothing/SKILL.md", "is not in a shared skill"),
        ("{home}/skills/leak/secret.txt", "leads outside the workspace through a symlink"),
    ],
)
async def test_nothing_else_outside_the_workspace_is_readable(
    tmp_path: Path, shared: Path, path: str, message: str
) -> None:
    write_skill(shared, "leak", "name: leak\ndescription: d")
    (shared / "leak" / "secret.txt").symlink_to(tmp_path / "home" / "secret.txt")
    with pytest.raises(ToolError, match=message):
        await read(ctx_for(tmp_path), path.format(home=tmp_path / "home"))


async def test_a_denied_shared_skill_is_not_readable(tmp_path: Path, shared: Path) -> None:
    path = str(shared / "weather" / "SKILL.md")
    with pytest.raises(ToolError, match="not enabled for this agent"):
        await read(ctx_for(tmp_path, skills_deny=("weather",)), path)
    with pytest.raises(ToolError, match="not enabled for this agent"):
        await read(ctx_for(tmp_path, skills_allow=("other",)), path)


async def test_shared_skills_stay_read_only(tmp_path: Path, shared: Path) -> None:
    ctx = ctx_for(tmp_path)
    target = str(shared / "weather" / "SKILL.md")
    with pytest.raises(ToolError, match="is not relative"):
        await WriteFileTool().run({"path": target, "content": "pwned"}, ctx)
    with pytest.raises(ToolError, match="is not relative"):
        await ListDirTool().run({"path": str(shared)}, ctx)
    assert "pwned" not in (shared / "weather" / "SKILL.md").read_text()
