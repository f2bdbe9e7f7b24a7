"""Who sent an HTTP API or hook message, as the journal keeps it (its sender), and the origin
its turn shows: one mapping, so a message run again after a crash keeps the origin it had."""

WAKE_SENDER = "hook:wake"
WAKE_ORIGIN = "hook: wake (system event)"
API_SENDER = "api"


def hook_sender(name: str) -> str:
    return f"hook:{name or 'agent'}"


def origin_of(sender: str) -> str | None:
    """The origin of a message journaled with `sender`: "" for the HTTP API (its caller holds
    the gateway token: the owner's own words), a hook's mark for a hook, None when `sender` is
    not an API or hook sender (a web chat message, which may be a chat command)."""
    if sender == API_SENDER:
        return ""
    if sender == WAKE_SENDER:
        return WAKE_ORIGIN
    if sender.startswith("hook:"):
        name = sender.removeprefix("hook:")
        return "hook" if name == "agent" else f"hook: {name}"
    return None
