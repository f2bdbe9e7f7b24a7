"""The gateway's MCP connections, one per configured server: found by config, replaced when the
server's config changes (the old session stops before the new one starts), all stopped on
shutdown (`shutdown`, called by the gateway's lifecycle), and stopped when no turn used them for
a while (`sweep`: a server disabled or no longer used by any agent goes too). Servers start
lazily: a connection starts its session on first use (`agents.mcp.connection`)."""

import asyncio
import logging
from dataclasses import dataclass, field

from agents.mcp.config import ServerConfig
from agents.mcp.connection import ServerConnection

logger = logging.getLogger(__name__)

IDLE_SECONDS = 900.0  # unused this long: stopped (the next use starts it again)


@dataclass
class MCPSupervisor:
    connections: dict[str, ServerConnection] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    # Stops under way, by server name: a successor starts only after its predecessor stopped.
    _stopping: dict[str, "asyncio.Task[None]"] = field(default_factory=dict)

    def connection(self, config: ServerConfig) -> ServerConnection:
        """The connection for this server's current config (a new one after a change)."""
        self._same_loop()
        current = self.connections.get(config.name)
        if current is not None and current.config == config:
            return current
        if current is not None:
            logger.info("MCP server %s was reconfigured: restarting it", config.name)
            self._retire(current)
        after = self._stopping.get(config.name)
        fresh = self.connections[config.name] = ServerConnection(config, after)
        return fresh

    def _retire(self, connection: ServerConnection) -> None:
        name = connection.config.name
        task = asyncio.ensure_future(connection.stop())
        self._stopping[name] = task

        def forget(done: "asyncio.Task[None]") -> None:
            if self._stopping.get(name) is done:
                del self._stopping[name]

        task.add_done_callback(forget)

    def _same_loop(self) -> None:
        """Connections belong to the loop that made them; another loop (a test's, after the
        last one closed) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self.connections, self._stopping = loop, {}, {}

    def sweep(self) -> None:
        """Stop the servers no turn has used for IDLE_SECONDS."""
        if self._loop is not asyncio.get_running_loop():
            return
        now = self._loop.time()
        for name, connection in list(self.connections.items()):
            if now - connection.last_used > IDLE_SECONDS:
                logger.info("MCP server %s unused for %.0f s: stopping it", name, IDLE_SECONDS)
                del self.connections[name]
                self._retire(connection)

    async def shutdown(self) -> None:
        """Stop every session (and so every stdio process), concurrently."""
        if self._loop is not asyncio.get_running_loop():
            return
        connections, self.connections = list(self.connections.values()), {}
        pending = [*(c.stop() for c in connections), *self._stopping.values()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        logger.info("MCP servers stopped (%d)", len(connections))


supervisor = MCPSupervisor()


async def shutdown() -> None:
    """Stop every MCP server of this process (the gateway's shutdown calls this)."""
    await supervisor.shutdown()
