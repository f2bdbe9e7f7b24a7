"""MCP servers' tools as `Tool`s: `<server>__<tool>` with the description and input schema the
server gives (a tool whose name or schema is unusable is skipped with a log line), in a fixed
order (servers by name, tools by name) and the same objects while the server's listing is
unchanged, so the tool specs, and with them the prompt prefix, stay byte-identical.

A call goes to the server's connection with the server's timeout; whatever goes wrong there
(not running, crashed mid-call, timed out, refused) is a `ToolError` the model reads."""

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from agents.mcp import runtime
from agents.mcp.config import ServerConfig, servers_for_agent
from agents.mcp.errors import MCPRefused, MCPTimeout, MCPUnavailable
from agents.mcp.policy import mcp_allowed, reaches
from agents.services import AgentConfig
from agents.tools.base import Tool, ToolContext, ToolError
from agents.trust import Trust
from openclaw.perf import offload

if TYPE_CHECKING:
    from agents.mcp.connection import RemoteTool, ServerConnection

logger = logging.getLogger(__name__)

# What providers accept as a function name (OpenAI: ^[a-zA-Z0-9_-]{1,64}$).
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_DESCRIPTION_CHARS = 1024  # paid in every prompt


@dataclass(frozen=True, slots=True, eq=False)
class MCPTool:
    """One tool of one server, as offered to the model."""

    name: str
    description: str
    parameters: dict[str, Any]
    remote: str  # the server's own name for it
    connection: "ServerConnection" = field(repr=False)

    @property
    def server(self) -> ServerConfig:
        return self.connection.config

    def permitted(self, ctx: ToolContext) -> bool:
        """At call time, again (`agents.tools.policy.permitted` asks): the policy of
        `agents.mcp.policy` for this turn's trust."""
        return mcp_allowed(self.name, self.server, ctx.agent, ctx.trust)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        if not self.permitted(ctx):
            raise ToolError(f"{self.name} is not available here.")
        if self.server.approval_required:
            await self._approved(args, ctx)
        try:
            result = await self.connection.call(self.remote, args)
        except (MCPUnavailable, MCPTimeout) as exc:
            raise ToolError(str(exc)) from None
        except MCPRefused as exc:
            raise ToolError(f"{self.name}: {exc}") from None
        if result.is_error:
            raise ToolError(f"{self.name} failed: {result.text or 'no details'}")
        return result.text

    async def _approved(self, args: dict[str, Any], ctx: ToolContext) -> None:
        approve = ctx.host.approve_tool
        if approve is None:
            raise ToolError(
                f"{self.name} needs an operator's approval, and none can be asked here."
            )
        summary = f"mcp {self.name} {json.dumps(args, ensure_ascii=False, sort_keys=True)}"
        verdict = await approve(summary)
        if verdict != "approved":
            raise ToolError(f"The operator's approval for this call was {verdict}; not run.")


def schema_problem(schema: object) -> str:
    """Why an input schema cannot be offered ("" when it can): it must be a valid JSON Schema
    describing an object."""
    if not isinstance(schema, dict):
        return "the input schema is not an object"
    if schema.get("type") != "object":
        return 'the input schema\'s type is not "object"'
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"invalid input schema ({exc.message})"
    return ""


def offer_problem(config: ServerConfig, remote: "RemoteTool") -> str:
    """Why a listed tool cannot be offered ("" when it can)."""
    if not TOOL_NAME.fullmatch(config.tool_name(remote.name)):
        return "its name is not a valid tool name (A-Z a-z 0-9 _ -, with the prefix at most 64)"
    return schema_problem(remote.schema)


# Built tools by server name, with the connection and listing they came from: the same
# listing gives the very same objects.
_built: dict[str, tuple["ServerConnection", tuple["RemoteTool", ...], list[MCPTool]]] = {}


def build_tools(connection: "ServerConnection", listing: tuple["RemoteTool", ...]) -> list[MCPTool]:
    """The offerable tools of a server's listing (cached while the listing is the same)."""
    cached = _built.get(connection.config.name)
    if cached is not None and cached[0] is connection and cached[1] is listing:
        return cached[2]
    config = connection.config
    tools: list[MCPTool] = []
    seen: set[str] = set()
    for remote in listing:
        name = config.tool_name(remote.name)
        problem = "listed twice (the first is kept)" if name in seen else ""
        if problem := problem or offer_problem(config, remote):
            logger.warning("MCP server %s: tool %r skipped: %s", config.name, remote.name, problem)
            continue
        description = remote.description[:MAX_DESCRIPTION_CHARS]
        seen.add(name)
        tools.append(MCPTool(name, description, remote.schema, remote.name, connection))
    _built[config.name] = (connection, listing, tools)
    return tools


async def mcp_tools(agent: AgentConfig, trust: Trust) -> list[Tool]:
    """The MCP tools a turn of `agent` at `trust` may use, servers started as needed (in
    parallel). A server that cannot be reached offers its last listing, or nothing."""
    runtime.sweep()  # every turn looks: idle servers stop without a timer of their own
    try:
        configs = await offload.database(servers_for_agent, agent.slug)
    except Exception:  # the turn goes on with its built-in tools; the database error shows
        logger.exception("Reading the MCP servers of agent %s failed", agent.slug)
        return []
    configs = [c for c in configs if reaches(c, trust)]
    if not configs:
        return []
    supervisor = runtime.supervisor()
    connections = [supervisor.connection(c) for c in configs]
    listings = await asyncio.gather(*(c.tools() for c in connections), return_exceptions=True)
    offered: list[Tool] = []
    for connection, listing in zip(connections, listings, strict=True):
        if isinstance(listing, BaseException):  # a bug, not a down server: never the turn's end
            logger.error("MCP server %s: listing failed", connection.config.name, exc_info=listing)
            continue
        offered += [
            tool
            for tool in build_tools(connection, listing)
            if mcp_allowed(tool.name, connection.config, agent, trust)
        ]
    return offered
