"""Every tool the gateway offers, and which of them a session may use: the built-in ones, and
for a turn also those of the agent's MCP servers (`agents.mcp.tools`)."""

from agents.mcp.tools import mcp_tools
from agents.services import AgentConfig
from agents.tools.base import Tool
from agents.tools.builtin import builtin_tools
from agents.tools.cron import CronTool
from agents.tools.media import media_tools
from agents.tools.memory import memory_tools
from agents.tools.messaging import SessionsSendTool
from agents.tools.policy import allowed_tools
from agents.trust import Trust

ALL_TOOLS: list[Tool] = [
    *builtin_tools(),
    SessionsSendTool(),
    *memory_tools(),
    CronTool(),
    *media_tools(),
]


def tools_for(agent: AgentConfig, trust: Trust) -> list[Tool]:
    """The tools a turn of `agent` may use at this trust level (`agents.tools.policy`)."""
    names = allowed_tools(
        agent.tool_profile,
        agent.tools_allow,
        agent.tools_deny,
        trust,
        agent.exec_enabled,
        [t.name for t in ALL_TOOLS],
        group_allow=agent.group_tools,
    )
    return [tool for tool in ALL_TOOLS if tool.name in names]


async def turn_tools(agent: AgentConfig, trust: Trust) -> list[Tool]:
    """What a turn is offered: `tools_for`, then its MCP servers' tools (servers started as
    needed; one that is down offers its last listing, whose calls then fail as tool results)."""
    return [*tools_for(agent, trust), *await mcp_tools(agent, trust)]
