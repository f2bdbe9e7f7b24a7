"""MCP tools as the loop sees them: approval asked before a call of a server that requires it,
errors as ToolErrors, the listing refreshed when the server says its tools changed."""

import asyncio
from pathlib import Path

import pytest

from agents.mcp.connection import ServerConnection
from agents.mcp.tools import build_tools
from agents.tools.base import ToolError
from tests.agents.tool_context import make_ctx
from tests.mcp.conftest import FAKE, stdio_config


async def test_a_call_waits_for_the_operator_when_the_server_requires_approval(
    tmp_path: Path,
) -> None:
    asked: list[str] = []

    def verdict(answer: str):  # type: ignore[no-untyped-def]  # an ApproveExec
        async def approve(summary: str) -> str:
            asked.append(summary)
            return answer

        return approve

    connection = ServerConnection(stdio_config(approval_required=True))
    try:
        [echo] = [
            t for t in build_tools(connection, await connection.tools()) if t.remote == "echo"
        ]
        denied = make_ctx(tmp_path, approve_tool=verdict("denied"))
        with pytest.raises(ToolError, match="approval for this call was denied"):
            await echo.run({"text": "hi"}, denied)
        assert asked == ['mcp fake__echo {"text": "hi"}']
        approved = make_ctx(tmp_path, approve_tool=verdict("approved"))
        assert await echo.run({"text": "hi"}, approved) == "echo: hi"
        with pytest.raises(ToolError, match="needs an operator's approval"):
            await echo.run({"text": "hi"}, make_ctx(tmp_path))  # nobody to ask: refused
    finally:
        await connection.stop()


async def test_failures_reach_the_model_as_tool_errors(tmp_path: Path) -> None:
    connection = ServerConnection(stdio_config(timeout=1.0))
    ctx = make_ctx(tmp_path)
    try:
        tools = {t.remote: t for t in build_tools(connection, await connection.tools())}
        with pytest.raises(ToolError, match=r"(?s)fake__add failed: .*Field required"):
            await tools["add"].run({"a": 1}, ctx)
        with pytest.raises(ToolError, match="took longer than 1 s"):
            await tools["slow"].run({"seconds": 30}, ctx)
        with pytest.raises(ToolError, match="stopped during the call"):
            await tools["crash"].run({}, ctx)
        assert await tools["add"].run({"a": 1, "b": 2}, ctx) == "3"  # restarted
    finally:
        await connection.stop()


async def test_a_changed_tool_list_is_listed_again() -> None:
    connection = ServerConnection(stdio_config(args=(FAKE, "stdio", "--grow")))
    try:
        before = await connection.tools()
        assert "grown" not in [t.name for t in before]
        assert (await connection.call("grow", {})).text == "grew"
        for _ in range(100):  # the notification arrives on its own
            after = await connection.tools()
            if after is not before:
                break
            await asyncio.sleep(0.02)
        assert [t.name for t in after] == sorted([*(t.name for t in before), "grown"])
        assert await connection.tools() is after  # and cached again
    finally:
        await connection.stop()
