"""Every tool the gateway offers, and which of them a session may use."""

from collections.abc import Iterable

from agents.tools.base import Tool
from agents.tools.builtin import builtin_tools
from agents.tools.cron import CronTool
from agents.tools.memory import memory_tools
from agents.tools.messaging import SessionsSendTool
from agents.tools.policy import allowed_tools

ALL_TOOLS: list[Tool] = [*builtin_tools(), SessionsSendTool(), *memory_tools(), CronTool()]


def allowed_tool_names(
    *, profile: str, allow: Iterable[str], deny: Iterable[str], is_group: bool, exec_enabled: bool
) -> set[str]:
    return set(
        allowed_tools(
            profile,
            list(allow),
            list(deny),
            is_group=is_group,
            exec_enabled=exec_enabled,
            registry_names=[t.name for t in ALL_TOOLS],
        )
    )
