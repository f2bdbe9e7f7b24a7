"""Which tools a turn may offer the model: a pure function of the agent's configuration and the
session kind. Message text, tool output and fetched pages are never inputs, so they cannot
widen the set."""

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

_READ_ONLY = frozenset(
    {"read_file", "list_dir", "memory_search", "memory_get", "sessions_list", "sessions_history"}
)

PROFILES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Look, never touch.
        "minimal": _READ_ONLY,
        # A chat assistant: read, fetch pages, keep notes, talk to other sessions.
        "messaging": _READ_ONLY | {"web_fetch", "memory_append", "sessions_send"},
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
        },
    }
)
FALLBACK_PROFILE: Final = "minimal"  # an unknown profile name fails closed

# Off in group sessions unless the agent names them in its group allow list: anyone in a group
# could otherwise change files, run commands, plant text in memory that every later prompt
# carries, schedule jobs, or push text into other sessions.
GROUP_RESTRICTED: Final = frozenset(
    {"write_file", "edit_file", "exec", "memory_edit", "memory_append", "cron", "sessions_send"}
)


def allowed_tools(
    profile: str,
    allow: Iterable[str],
    deny: Iterable[str],
    is_group: bool,
    exec_enabled: bool,
    registry_names: Iterable[str],
    *,
    group_allow: Iterable[str] = (),
) -> list[str]:
    """The tool names to offer, in registry order.

    `allow`, when not empty, replaces the profile's set (an agent lists exactly its tools).
    Then: minus group-restricted tools in group sessions (unless in `group_allow`), minus `deny`;
    `exec` only when `exec_enabled`; only registered tools.
    """
    names = set(allow) or set(PROFILES.get(profile, PROFILES[FALLBACK_PROFILE]))
    if is_group:
        names -= GROUP_RESTRICTED - set(group_allow)
    names -= set(deny)
    if not exec_enabled:
        names.discard("exec")
    return [name for name in registry_names if name in names]
