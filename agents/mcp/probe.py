"""Probing one MCP server from a command (`manage.py mcp tools|test`): start it on a connection
of its own, list its tools, say what would be offered and what is skipped, stop it."""

import time
from dataclasses import dataclass, field

from agents.mcp.config import ServerConfig
from agents.mcp.connection import ServerConnection
from agents.mcp.errors import MCPUnavailable
from agents.mcp.tools import offer_problem


@dataclass
class Probe:
    ok: bool
    seconds: float
    error: str = ""
    server: str = ""  # the name and version the server reports
    tools: list[tuple[str, str]] = field(default_factory=list)  # (offered name, description)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (server's name, why)


async def probe(config: ServerConfig) -> Probe:
    """Start the server, list its tools, stop it. Never raises for a server that fails."""
    start = time.perf_counter()
    connection = ServerConnection(config)
    try:
        session = await connection.session()
        info = session.server_info
        listing = await connection.tools()
    except MCPUnavailable as exc:
        return Probe(False, time.perf_counter() - start, str(exc))
    finally:
        await connection.stop()
    result = Probe(True, time.perf_counter() - start)
    if info is not None:
        result.server = f"{info.name} {info.version}".strip()
    for remote in listing:
        if problem := offer_problem(config, remote):
            result.skipped.append((remote.name, problem))
        else:
            result.tools.append((config.tool_name(remote.name), remote.description))
    return result
