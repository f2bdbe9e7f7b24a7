"""sessions_list and sessions_history: an agent looks at its own sessions, never another agent's."""

from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from agents import services
from agents.tools.base import ToolContext, ToolError
from agents.tools.common import cap_text, int_arg, str_arg
from agents.transcripts import read_entries_async

DEFAULT_HISTORY = 10
MAX_HISTORY = 50
MESSAGE_CHARS = 2000


class SessionsListTool:
    name = "sessions_list"
    description = "List this agent's active sessions: key, title, last activity, turns."
    parameters: dict[str, Any] = {"type": "object", "properties": {}}

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        rows: list[dict[str, Any]] = await database_sync_to_async(services.list_sessions)(
            ctx.agent.slug
        )
        if not rows:
            return "No active sessions."
        lines = [
            f"{row['key']} | {row['title'] or '(untitled)'} | "
            f"last {str(row['last_active'])[:16].replace('T', ' ')} | {row['turns']} turns"
            for row in rows
        ]
        return cap_text("\n".join(lines), int(settings.OPENCLAW_TOOL_OUTPUT_CHARS))


class SessionsHistoryTool:
    name = "sessions_history"
    description = (
        "Last messages of one of this agent's sessions. session: a key from sessions_list."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"session": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["session"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        key = str_arg(args, "session").strip()
        limit = int_arg(args, "limit", DEFAULT_HISTORY, low=1, high=MAX_HISTORY)
        if services.agent_slug_of(key) != ctx.agent.slug:
            raise ToolError(f"{key!r} is not one of this agent's sessions; see sessions_list.")
        try:
            session: services.SessionRef = await database_sync_to_async(services.find_session)(key)
        except services.NotFound:
            raise ToolError(f"No active session {key!r}; see sessions_list.") from None
        if session.agent.slug != ctx.agent.slug:  # the key's prefix and the row must agree
            raise ToolError(f"{key!r} is not one of this agent's sessions; see sessions_list.")
        entries = await read_entries_async(Path(session.transcript))
        messages = [
            e
            for e in entries
            if e["type"] == "message"
            and e.get("role") in ("user", "assistant")
            and e.get("content")
        ][-limit:]
        if not messages:
            return f"No messages in {key} yet."
        budget = int(settings.OPENCLAW_TOOL_OUTPUT_CHARS)
        parts: list[str] = []
        for entry in reversed(messages):  # newest first into the budget, shown oldest first
            text = cap_text(entry.get("content", ""), MESSAGE_CHARS)
            part = f"[{entry['ts'][:16].replace('T', ' ')}] {entry.get('role')}: {text}"
            if parts and sum(map(len, parts)) + len(part) > budget:
                parts.append(f"[{len(messages) - len(parts)} older messages left out]")
                break
            parts.append(part)
        return "\n\n".join(reversed(parts))
