"""Who a turn speaks for, and so what it may reach: the owner (the web chat, the CLI, the
owner's own direct messages: the agent's main session and the sessions the owner opens), a paired
or allowlisted stranger in a direct message of their own, or the members of a group chat.

The level follows from the session (its key and kind), never from message text; a host may only
lower it. What each level may use is `agents.tools.policy`'s decision."""

from typing import Literal

Trust = Literal["owner", "paired", "group"]
RANK: dict[Trust, int] = {"group": 0, "paired": 1, "owner": 2}


def session_trust(session_key: str, *, is_group: bool) -> Trust:
    """The trust of a session: groups (and their threads) are `group`, a platform sender's own
    direct-message session (`agent:<slug>:<channel>:dm:<peer>`) is `paired`, any other session
    of the agent (its main session, sessions the owner opened) is `owner`."""
    if is_group or ":group:" in session_key:
        return "group"
    if ":dm:" in session_key:
        return "paired"
    return "owner"


def lower(first: Trust, second: Trust) -> Trust:
    """The less trusted of two levels."""
    return first if RANK[first] <= RANK[second] else second


def turn_trust(host_trust: Trust, session_key: str, *, is_group: bool) -> Trust:
    """A turn's trust: its host's level, never above its session's own."""
    return lower(host_trust, session_trust(session_key, is_group=is_group))
