"""The gateway's entry points to its MCP connections, kept apart from them: the `mcp` SDK takes
~0.6 s to import, so it loads with the first server an agent uses, never at start."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.mcp.supervisor import MCPSupervisor

_loaded: "MCPSupervisor | None" = None


def supervisor() -> "MCPSupervisor":
    """The process's MCP supervisor (importing the SDK on first call)."""
    global _loaded
    if _loaded is None:
        from agents.mcp.supervisor import supervisor  # the SDK: only once a server is used

        _loaded = supervisor
    return _loaded


def sweep() -> None:
    """Stop the servers no turn used for a while (`MCPSupervisor.sweep`), if any ever ran."""
    if _loaded is not None:
        _loaded.sweep()


async def shutdown() -> None:
    """Stop every MCP server this process started; nothing to do (and no import) if none was."""
    if _loaded is not None:
        await _loaded.shutdown()
