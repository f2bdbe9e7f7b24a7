"""sessions_send: an agent hands a message to another of its sessions, where it runs as a turn.

The turn's host (`agents.host.TurnHost.send_to_session`) delivers it; runs started this way
get no such hook, so two sessions cannot ping-pong forever.
"""

from typing import Any

from agents import services
from agents.tools.base import ToolContext, ToolError
from agents.tools.common import str_arg

MAX_TEXT = 8000


class SessionsSendTool:
    name = "sessions_send"
    description = "Send a message to another of this agent's sessions; it runs there as a turn."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"session": {"type": "string"}, "text": {"type": "string"}},
        "required": ["session", "text"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        key = str_arg(args, "session").strip()
        text = str_arg(args, "text").strip()
        if not text:
            raise ToolError("text must not be empty.")
        if len(text) > MAX_TEXT:
            raise ToolError(f"text is {len(text)} characters; the limit is {MAX_TEXT}.")
        if services.agent_slug_of(key) != ctx.agent.slug:
            raise ToolError(f"{key!r} is not one of this agent's sessions; see sessions_list.")
        if key == ctx.session.key:
            raise ToolError("That is the current session; answer here instead.")
        send = ctx.host.send_to_session
        if send is None:
            raise ToolError("Messages sent by sessions_send cannot send further messages.")
        run = await send(key, text)
        return f"Queued in {key} as run {run}; its answer appears in that session."
