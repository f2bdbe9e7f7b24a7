"""exec runs only when enabled, in the workspace, without the gateway's secrets, within its time."""

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from agents.tools.base import ToolContext, ToolError
from agents.tools.shell import ExecTool
from tests.agents.tool_context import make_ctx


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return make_ctx(workspace, exec_enabled=True)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def _dies(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("options", [{}, {"exec_enabled": False}, {"exec_enabled": "yes"}])
async def test_exec_is_refused_unless_enabled(tmp_path: Path, options: dict[str, Any]) -> None:
    with pytest.raises(ToolError, match="disabled"):
        await ExecTool().run({"command": "touch ran"}, make_ctx(tmp_path, **options))
    assert not (tmp_path / "ran").exists()


async def test_exec_runs_in_the_workspace(ctx: ToolContext) -> None:
    out = await ExecTool().run({"command": "echo hi; pwd; echo oops >&2"}, ctx)
    assert out.splitlines() == ["[exit code 0]", "hi", str(ctx.workspace), "oops"]


async def test_exec_reports_the_exit_code(ctx: ToolContext) -> None:
    assert await ExecTool().run({"command": "exit 3"}, ctx) == "[exit code 3]\n(no output)"


async def test_timeout_kills_the_command_and_its_children(ctx: ToolContext) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError, match="Timed out after 1 s") as caught:
        await ExecTool().run(
            {"command": "sleep 100 & echo $! > child.pid; echo started; sleep 100", "timeout": 1},
            ctx,
        )
    assert time.monotonic() - started < 5
    assert "started" in str(caught.value)
    assert await _dies(int((ctx.workspace / "child.pid").read_text()))


async def test_background_children_do_not_outlive_the_command(ctx: ToolContext) -> None:
    started = time.monotonic()
    out = await ExecTool().run({"command": "sleep 100 & echo $! > bg.pid; echo done"}, ctx)
    assert out == "[exit code 0]\ndone"
    assert time.monotonic() - started < 5
    assert await _dies(int((ctx.workspace / "bg.pid").read_text()))


async def test_gateway_secrets_are_not_passed_to_commands(
    ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-fake-openai",
        "SLACK_BOT_TOKEN": "xoxb-fake",
        "WHATSAPP_APP_SECRET": "fake-app-secret",
        "DJANGO_SECRET_KEY": "fake-django-secret",
        "DATABASE_URL": "postgres://u:fake-db-password@db/x",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    out = await ExecTool().run({"command": "env"}, ctx)
    for name, value in secrets.items():
        assert name not in out
        assert value not in out
    assert f"HOME={ctx.workspace}" in out.splitlines()
    assert os.environ["OPENAI_API_KEY"] == "sk-fake-openai"  # the gateway's own stays intact


async def test_output_is_capped_keeping_its_start_and_end(
    ctx: ToolContext, settings: Settings
) -> None:
    settings.OPENCLAW_TOOL_OUTPUT_CHARS = 1000
    out = await ExecTool().run({"command": "seq 1 100000"}, ctx)
    assert len(out) < 1200
    lines = out.splitlines()
    assert lines[:3] == ["[exit code 0]", "1", "2"]
    assert lines[-1] == "100000"
    assert "bytes of output omitted" in out


async def test_empty_commands_are_refused(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="empty"):
        await ExecTool().run({"command": "  "}, ctx)
