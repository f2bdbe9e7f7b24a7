"""Every tool the gateway offers, and which of them a session may use."""

from agents.services import AgentConfig
from agents.tools.base import Tool
from agents.tools.builtin import builtin_tools
from agents.tools.cron import CronTool
from agents.tools.memory import memory_tools
from agents.tools.messaging import SessionsSendTool
from agents.tools.policy import allowed_tools
from agents.trust import Trust

ALL_TOOLS: list[Tool] = [*builtin_tools(), SessionsSendTool(), *memory_tools(), CronTool()]


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
