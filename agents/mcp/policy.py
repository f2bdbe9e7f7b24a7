"""Which MCP tools a turn may use: a pure function of the agent's tool settings, the server's
flags and the turn's trust (`agents.trust`), like `agents.tools.policy` for built-in tools.

- The owner: with an allow list, the tools it names; without one, every tool of the agent's
  servers under the `full` profile and none under `minimal` or `messaging` (their tools can do
  anything the server does).
- A paired stranger: only tools of servers marked `allow_paired`; a group: only of servers
  marked `allow_in_groups`. Both on top of the owner's rule.
- Then minus the deny list. Lists name a tool (`files__read`) or a whole server (`files__*`).
"""

from collections.abc import Iterable

from agents.mcp.config import SEPARATOR, ServerConfig
from agents.services import AgentConfig
from agents.trust import Trust

WILDCARD = "*"


def named(tool_name: str, names: Iterable[str]) -> bool:
    """`tool_name` (`<server>__<tool>`) is in `names`, itself or by `<server>__*`."""
    server = tool_name.split(SEPARATOR, 1)[0]
    whole = f"{server}{SEPARATOR}{WILDCARD}"
    return any(name in (tool_name, whole) for name in names)


def reaches(server: ServerConfig, trust: Trust) -> bool:
    """May a turn at this trust level use this server's tools at all?"""
    if trust == "owner":
        return True
    if trust == "paired":
        return server.allow_paired
    if trust == "group":
        return server.allow_in_groups
    return False  # a value from outside the type: fail closed


def mcp_allowed(tool_name: str, server: ServerConfig, agent: AgentConfig, trust: Trust) -> bool:
    """May a turn of `agent` at `trust` use tool `tool_name` of `server`?"""
    if not reaches(server, trust):
        return False
    if agent.tools_allow:
        offered = named(tool_name, agent.tools_allow)
    else:
        offered = agent.tool_profile == "full"
    return offered and not named(tool_name, agent.tools_deny)
