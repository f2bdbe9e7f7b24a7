"""One server's client session against the real fake MCP server (stdio and streamable HTTP):
lazy start, one process however many callers, crash noticed and restarted for the next call,
timeouts, the listing cached as the very same objects, headers and variables passed by name."""

import asyncio
import dataclasses
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from agents.mcp.config import ServerConfig
from agents.mcp.connection import ServerConnection, backoff
from agents.mcp.errors import MCPTimeout, MCPUnavailable
from agents.mcp.supervisor import MCPSupervisor
from agents.mcp.tools import build_tools
from tests.gateway_process import free_port
from tests.mcp.conftest import HTTP_TOKEN, HttpServer, start_http, stdio_config

FIVE = ["add", "crash", "echo", "info", "slow"]


def _pid(text: str) -> int:
    return int(json.loads(text)["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _gone(pid: int, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_stdio_server_starts_on_first_use_and_lists_its_tools_in_order() -> None:
    connection = ServerConnection(stdio_config())
    assert connection.state == "stopped"  # nothing runs until a turn needs it
    try:
        listing = await connection.tools()
        assert [t.name for t in listing] == FIVE
        echo = next(t for t in listing if t.name == "echo")
        assert echo.schema["properties"]["text"]["type"] == "string"
        result = await connection.call("echo", {"text": "hi"})
        assert (result.text, result.is_error) == ("echo: hi", False)
        assert await connection.tools() is listing  # cached: the same specs next turn
    finally:
        await connection.stop()


async def test_concurrent_first_uses_start_one_process() -> None:
    connection = ServerConnection(stdio_config())
    try:
        results = await asyncio.gather(*(connection.call("info", {}) for _ in range(6)))
        assert len({_pid(r.text) for r in results}) == 1
        assert connection.starts == 1
    finally:
        await connection.stop()


async def test_a_crash_mid_call_fails_that_call_and_the_next_call_restarts_it() -> None:
    connection = ServerConnection(stdio_config())
    try:
        first = _pid((await connection.call("info", {})).text)
        listing = await connection.tools()
        with pytest.raises(MCPUnavailable, match="stopped during the call"):
            await connection.call("crash", {})
        assert await _gone(first)
        second = _pid((await connection.call("info", {})).text)
        assert second != first
        assert connection.starts == 2
        assert await connection.tools() == listing  # listed again by the new session, equal
    finally:
        await connection.stop()


async def test_a_server_that_dies_while_idle_is_started_again_in_the_background() -> None:
    connection = ServerConnection(stdio_config())
    try:
        first = _pid((await connection.call("info", {})).text)
        os.kill(first, 9)
        assert await _gone(first)
        for _ in range(400):  # noticed at once, and started again without a call
            if connection.starts == 2 and connection.state == "running":
                break
            await asyncio.sleep(0.05)
        assert (connection.starts, connection.state) == (2, "running")
        assert _pid((await connection.call("info", {})).text) != first
    finally:
        await connection.stop()


async def test_a_slow_tool_times_out_and_the_server_keeps_serving() -> None:
    connection = ServerConnection(stdio_config(timeout=1.0))
    try:
        await connection.tools()
        with pytest.raises(MCPTimeout, match=r"fake__slow took longer than 1 s"):
            await connection.call("slow", {"seconds": 30})
        assert (await connection.call("echo", {"text": "still"})).text == "echo: still"
    finally:
        await connection.stop()


async def test_a_tool_error_is_a_result_marked_as_an_error() -> None:
    connection = ServerConnection(stdio_config())
    try:
        result = await connection.call("add", {"a": 1})
        assert result.is_error
        assert "Field required" in result.text
    finally:
        await connection.stop()


async def test_stop_ends_the_process_and_a_retired_connection_never_starts_again() -> None:
    connection = ServerConnection(stdio_config())
    pid = _pid((await connection.call("info", {})).text)
    await connection.stop()
    assert await _gone(pid)
    with pytest.raises(MCPUnavailable, match="reconfigured or stopped"):
        await connection.call("info", {})


async def test_a_server_that_cannot_start_backs_off_and_says_so() -> None:
    config = ServerConfig(name="broken", transport="stdio", command="/nonexistent/mcp", timeout=5)
    connection = ServerConnection(config)
    with pytest.raises(MCPUnavailable, match=r"is unavailable: .*No such file"):
        await connection.call("echo", {})
    with pytest.raises(MCPUnavailable, match="is unavailable"):
        await connection.call("echo", {})  # the first failure retries at once
    with pytest.raises(MCPUnavailable, match=r"restarts in \d+ s"):
        await connection.call("echo", {})  # then it waits
    assert await connection.tools() == ()  # never listed: no tools, no error
    assert [backoff(n) for n in (1, 2, 3, 4, 9)] == [0.0, 1.0, 2.0, 4.0, 60.0]


async def test_only_the_named_variables_reach_the_process() -> None:
    env = {"MCP_FAKE_SECRET": "s3cret-value-77", "MCP_OTHER": "not-passed"}
    with override_settings(OPENCLAW_MCP_ENV=env):
        config = stdio_config(env=(("FAKE_SECRET", "MCP_FAKE_SECRET"),))
        connection = ServerConnection(config)
        try:
            given = await connection.call("info", {"name": "FAKE_SECRET"})
            assert "s3cret-value-77" not in given.text  # masked in what the model reads
            assert json.loads(given.text)["value"] == "[redacted]"
            other = await connection.call("info", {"name": "MCP_OTHER"})
            assert json.loads(other.text)["value"] is None
        finally:
            await connection.stop()


async def test_a_missing_variable_is_reported_not_started() -> None:
    with override_settings(OPENCLAW_MCP_ENV={}):
        config = stdio_config(env=(("TOKEN", "MCP_NOT_SET"),), missing=("MCP_NOT_SET",))
        with pytest.raises(MCPUnavailable, match="MCP_NOT_SET not set"):
            await ServerConnection(config).call("echo", {"text": "x"})


async def test_streamable_http_with_a_header_from_the_environment(http_server: HttpServer) -> None:
    with override_settings(OPENCLAW_MCP_ENV={"MCP_WEB_AUTH": f"Bearer {HTTP_TOKEN}"}):
        config = ServerConfig(
            name="web",
            transport="http",
            url=http_server.url,
            headers=(("Authorization", "MCP_WEB_AUTH"),),
            timeout=5,
        )
        connection = ServerConnection(config)
        try:
            assert [t.name for t in await connection.tools()] == FIVE
            assert (await connection.call("add", {"a": 2, "b": 3})).text == "5"
        finally:
            await connection.stop()


async def test_streamable_http_without_the_header_is_unavailable(http_server: HttpServer) -> None:
    config = ServerConfig(name="web", transport="http", url=http_server.url, timeout=5)
    connection = ServerConnection(config)
    with pytest.raises(MCPUnavailable, match="MCP server web is unavailable"):
        await connection.call("echo", {"text": "x"})
    await connection.stop()


async def test_an_http_server_that_restarted_gets_a_new_session_and_the_call() -> None:
    port = free_port()
    proc = start_http(port, token="")
    config = ServerConfig(
        name="web", transport="http", url=f"http://127.0.0.1:{port}/mcp", timeout=5
    )
    connection = ServerConnection(config)
    try:
        first = _pid((await connection.call("info", {})).text)
        proc.kill()
        proc.wait(timeout=10)
        proc = await asyncio.to_thread(start_http, port, "")
        # The new process does not know the session: the call goes again on a new one.
        second = _pid((await connection.call("info", {})).text)
        assert second != first
        assert (await connection.call("echo", {"text": "x"})).text == "echo: x"
    finally:
        await connection.stop()
        proc.kill()
        proc.wait(timeout=10)


async def test_a_reconfigured_server_stops_before_its_successor_starts() -> None:
    supervisor = MCPSupervisor()
    old = supervisor.connection(stdio_config())
    pid = _pid((await old.call("info", {})).text)
    assert supervisor.connection(stdio_config()) is old  # same config: same connection
    new = supervisor.connection(stdio_config(timeout=7.0))
    assert new is not old
    second = _pid((await new.call("info", {})).text)
    assert not _alive(pid) and second != pid  # one process per server, never two
    await supervisor.shutdown()
    assert await _gone(second)


async def test_a_server_no_turn_used_for_a_while_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agents.mcp import supervisor as module

    supervisor = MCPSupervisor()
    connection = supervisor.connection(stdio_config())
    pid = _pid((await connection.call("info", {})).text)
    supervisor.sweep()
    assert supervisor.connections == {"fake": connection}  # just used
    monkeypatch.setattr(module, "IDLE_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    supervisor.sweep()
    assert supervisor.connections == {}
    assert await _gone(pid)
    fresh = supervisor.connection(stdio_config())  # the next use starts it again
    assert (await fresh.call("echo", {"text": "back"})).text == "echo: back"
    await supervisor.shutdown()


async def test_unusable_tools_are_skipped_and_the_rest_kept_as_the_same_objects() -> None:
    from agents.mcp.connection import RemoteTool

    connection = ServerConnection(stdio_config())
    listing = (
        RemoteTool("fine", "ok", {"type": "object", "properties": {}}),
        RemoteTool("fine", "the same name again", {"type": "object"}),
        RemoteTool("array", "no", {"type": "array"}),
        RemoteTool("broken", "no", {"type": "object", "properties": {"x": {"type": 5}}}),
        RemoteTool("bad name!", "no", {"type": "object"}),
        RemoteTool("x" * 70, "too long", {"type": "object"}),
    )
    tools = build_tools(connection, listing)
    assert [t.name for t in tools] == ["fake__fine"]
    assert build_tools(connection, listing) is tools


def _running(marker: str) -> bool:
    """A process whose command line holds `marker` is alive (and not a zombie)."""
    for proc in Path("/proc").iterdir():
        try:
            if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                stat = (proc / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    return True
        except OSError:
            continue
    return False


async def _ended(marker: str) -> bool:
    for _ in range(200):
        if not _running(marker):
            return True
        await asyncio.sleep(0.05)
    return False


def _hanging(marker: str) -> ServerConfig:
    """A "server" that never answers `initialize`."""
    code = "import time; time.sleep(120)"
    return ServerConfig(
        name="hang", transport="stdio", command=sys.executable, args=("-c", code, marker)
    )


async def _spawned(marker: str) -> None:
    for _ in range(200):
        if _running(marker):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server never started")


async def test_a_start_that_never_answers_times_out_and_leaves_no_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agents.mcp import connection as module

    monkeypatch.setattr(module, "START_SECONDS", 1.0)
    marker = f"mcp-hang-{uuid.uuid4().hex}"
    config = dataclasses.replace(_hanging(marker), timeout=1.0)
    with pytest.raises(MCPUnavailable, match="did not start within 1 s"):
        await ServerConnection(config).session()
    assert await _ended(marker)


async def test_a_start_whose_turn_went_away_leaves_no_process() -> None:
    marker = f"mcp-hang-{uuid.uuid4().hex}"
    connection = ServerConnection(_hanging(marker))
    starting = asyncio.ensure_future(connection.session())
    await _spawned(marker)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert await _ended(marker)


async def test_stopping_a_server_while_it_starts_leaves_no_process() -> None:
    marker = f"mcp-hang-{uuid.uuid4().hex}"
    connection = ServerConnection(_hanging(marker))
    starting = asyncio.ensure_future(connection.session())
    await _spawned(marker)
    await asyncio.wait_for(connection.stop(), 15)
    assert await _ended(marker)
    with pytest.raises(MCPUnavailable, match="stopped while starting"):
        await asyncio.wait_for(starting, 5)  # its waiter hears it at once
