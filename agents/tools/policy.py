"""Which tools a turn may use: a pure function of the agent's configuration and the trust of the
session (`agents.trust`). Message text, tool output and fetched pages are never inputs, so they
cannot widen the set. The loop offers only these, and the tool runner checks again at call time."""

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from agents.trust import Trust

if TYPE_CHECKING:  # the context is only read here
    from agents.tools.base import ToolContext

_READ_ONLY = frozenset(
    {"read_file", "list_dir", "memory_search", "memory_get", "sessions_list", "sessions_history"}
    | {"read_media"}
)

PROFILES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Look, never touch.
        "minimal": _READ_ONLY,
        # A chat assistant: read, fetch pages, keep notes, talk to other sessions.
        "messaging": _READ_ONLY | {"web_fetch", "memory_append", "sessions_send", "send_file"},
        # Everything, exec included (still only when the agent enables exec).
        "full": _READ_ONLY
        | {
            "web_fetch",
            "memory_append",
            "memory_edit",
            "sessions_send",
            "write_file",
            "edit_file",
            "exec",
            "cron",
            "send_file",
        },
    }
)
FALLBACK_PROFILE: Final = "minimal"  # an unknown profile name fails closed
# A paired or allowlisted stranger's own direct messages: nothing of the owner's (no workspace
# files, no memory, no other sessions), no exec; reminders only in their own session (the cron
# tool checks the target).
PAIRED_TOOLS: Final = frozenset({"web_fetch", "cron"})
# In a group, anyone present is speaking: no tool unless the agent lists it in its group allow
# list, and never memory or other sessions (the owner's private data), whatever the lists say.
NEVER_IN_GROUPS: Final = frozenset(
    {"memory_search", "memory_get", "memory_append", "memory_edit"}
    | {"sessions_list", "sessions_history", "sessions_send"}
)


def allowed_tools(
    profile: str,
    allow: Iterable[str],
    deny: Iterable[str],
    trust: Trust,
    exec_enabled: bool,
    registry_names: Iterable[str],
    *,
    group_allow: Iterable[str] = (),
) -> list[str]:
    """The tool names to offer, in registry order.

    `allow`, when not empty, replaces the profile's set (an agent lists exactly its tools).
    Then by trust: the owner keeps that set; a paired stranger at most `PAIRED_TOOLS`; a group
    only what `group_allow` also names, minus `NEVER_IN_GROUPS`. Then minus `deny`; `exec` only
    when `exec_enabled`; only registered tools.
    """
    names = set(allow) or set(PROFILES.get(profile, PROFILES[FALLBACK_PROFILE]))
    if trust == "paired":
        names &= PAIRED_TOOLS
    elif trust == "group":
        names &= set(group_allow) - NEVER_IN_GROUPS
    elif trust != "owner":  # a value from outside the type: fail closed
        names = set()
    names -= set(deny)
    if not exec_enabled:
        names.discard("exec")
    return [name for name in registry_names if name in names]


@runtime_checkable
class Guarded(Protocol):
    """A tool from outside the registry (an MCP server's, `agents.mcp`) that carries its own
    rule: a pure function of the agent, its source's settings and the turn's trust."""

    def permitted(self, ctx: "ToolContext") -> bool: ...


def permitted(name: str, ctx: "ToolContext", tool: object = None) -> bool:
    """At call time, again: may this turn run tool `name`? A `Guarded` tool decides by its
    own rule; for the others, the owner runs what its host offered and any other level only
    what the policy allows it, whatever the model was offered."""
    if isinstance(tool, Guarded):
        return tool.permitted(ctx)
    trust = ctx.trust
    if trust == "owner":
        return True
    agent = ctx.agent
    allowed = allowed_tools(
        agent.tool_profile,
        agent.tools_allow,
        agent.tools_deny,
        trust,
        agent.exec_enabled,
        [name],
        group_allow=agent.group_tools,
    )
    return name in allowed
