"""What a hook asks for (pure): `/hooks/agent`'s message, agent, session and delivery, and
`/hooks/wake`'s system event and mode. OpenClaw's field names (`agentId`, `sessionKey`) are
taken too, so its callers need no change. Bad input is a `BadRequest`."""

from dataclasses import dataclass
from typing import Any, Literal

from gateway.httpapi.chat_request import BadRequest, agent_of

WakeMode = Literal["now", "next-heartbeat"]
MAX_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class AgentHook:
    agent: str
    message: str
    session: str  # the session name ("": the hooks' default session of the agent)
    name: str  # who is calling ("GitHub"), shown as the message's origin
    deliver: bool
    channel: str  # "telegram", "telegram:<account>", … or "last"
    to: str  # the recipient chat on that channel ("": the last one, with channel "last")


@dataclass(frozen=True, slots=True)
class WakeHook:
    agent: str
    text: str
    mode: WakeMode


def _string(body: dict[str, Any], *names: str) -> str:
    """The first of `names` present, as a string ("" when none is)."""
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise BadRequest(f"`{name}` must be a string.", param=name)
        return str(value).strip()
    return ""


def _text(body: dict[str, Any], name: str, max_chars: int) -> str:
    text = _string(body, name)
    if not text:
        raise BadRequest(f"`{name}` is required.", param=name)
    if len(text) > max_chars:
        raise BadRequest(
            f"`{name}` is {len(text):,} characters; the limit is {max_chars:,}.",
            param=name,
            code="message_too_long",
        )
    return text


MAX_TO_CHARS = 128


def parse_agent_hook(body: Any, *, default_agent: str, max_chars: int) -> AgentHook:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    deliver = body.get("deliver", False)
    if not isinstance(deliver, bool):
        raise BadRequest("`deliver` must be true or false.", param="deliver")
    channel = _string(body, "channel") or "last"
    to = _string(body, "to")
    if deliver and channel != "last" and not to:
        raise BadRequest(f"`to` names the {channel} chat to deliver to.", param="to")
    if len(to) > MAX_TO_CHARS:  # kept in the journal entry's chat id, with its channel
        raise BadRequest(f"`to` is over {MAX_TO_CHARS} characters.", param="to")
    return AgentHook(
        agent=agent_of(_string(body, "agent", "agentId"), default_agent),
        message=_text(body, "message", max_chars),
        session=_string(body, "session", "sessionKey"),
        name=" ".join(_string(body, "name").split())[:MAX_NAME_CHARS],
        deliver=deliver,
        channel=channel,
        to=to,
    )


def parse_wake_hook(body: Any, *, default_agent: str, max_chars: int) -> WakeHook:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    mode = _string(body, "mode") or "now"
    if mode not in ("now", "next-heartbeat"):
        raise BadRequest("`mode` is 'now' or 'next-heartbeat'.", param="mode")
    return WakeHook(
        agent=agent_of(_string(body, "agent", "agentId"), default_agent),
        text=_text(body, "text", max_chars),
        mode="now" if mode == "now" else "next-heartbeat",
    )
