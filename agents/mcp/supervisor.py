"""The gateway's MCP connections, one per configured server: found by config, replaced when the
server's config changes (the old session stops before the new one starts), all stopped on
shutdown (`shutdown`, called by the gateway's lifecycle). Servers start lazily: a connection
starts its session on first use (`agents.mcp.connection`)."""

import asyncio
import logging
from dataclasses import dataclass, field

from agents.mcp.config import ServerConfig
from agents.mcp.connection import ServerConnection

logger = logging.getLogger(__name__)


@dataclass
class MCPSupervisor:
    connections: dict[str, ServerConnection] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: set["asyncio.Task[None]"] = field(default_factory=set)

    def connection(self, config: ServerConfig) -> ServerConnection:
        """The connection for this server's current config (a new one after a change)."""
        self._same_loop()
        current = self.connections.get(config.name)
        if current is not None and current.config == config:
            return current
        after: asyncio.Future[None] | None = None
        if current is not None:
            logger.info("MCP server %s was reconfigured: restarting it", config.name)
            after = self._retire(current)
        fresh = self.connections[config.name] = ServerConnection(config, after)
        return fresh

    def _retire(self, connection: ServerConnection) -> "asyncio.Task[None]":
        task = asyncio.ensure_future(connection.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
        return task

    def _same_loop(self) -> None:
        """Connections belong to the loop that made them; another loop (a test's, after the
        last one closed) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self.connections, self._stopping = loop, {}, set()

    async def shutdown(self) -> None:
        """Stop every session (and so every stdio process), concurrently."""
        if self._loop is not asyncio.get_running_loop():
            return
        connections, self.connections = list(self.connections.values()), {}
        pending = [*(c.stop() for c in connections), *self._stopping]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        logger.info("MCP servers stopped (%d)", len(connections))


supervisor = MCPSupervisor()


async def shutdown() -> None:
    """Stop every MCP server of this process (the gateway's shutdown calls this)."""
    await supervisor.shutdown()
