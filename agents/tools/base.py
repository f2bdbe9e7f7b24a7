"""The `Tool` protocol, and the context a tool runs in.

A tool is an object with a name, a short description (paid in every prompt: keep it short), a
JSON schema for its arguments and an async `run`. `run` returns text for the model; it raises
`ToolError` for anything the model should read and correct (bad path, missing file, refusal).
Any other exception is a bug: the loop reports it to the model as an internal tool error.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agents.host import TurnHost
from agents.services import AgentConfig, SessionRef
from agents.trust import Trust, turn_trust


class ToolError(Exception):
    """A failure the model should see and may correct. The message goes back verbatim."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    run_id: str
    session: SessionRef
    host: TurnHost = field(default_factory=TurnHost)

    @property
    def agent(self) -> AgentConfig:
        return self.session.agent

    @property
    def trust(self) -> Trust:
        """Whom this turn speaks for: the host's level, never above the session's own."""
        return turn_trust(self.host.trust, self.session.key, is_group=self.session.is_group)

    @property
    def workspace(self) -> Path:
        return Path(self.session.agent.workspace)


class Tool(Protocol):
    """MUST be safe to call concurrently; MUST NOT block the event loop (use
    `asyncio.to_thread` or `database_sync_to_async` for blocking work); MUST bound its own
    output size and run time where they are open-ended."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]: ...

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str: ...


def tool_spec(tool: Tool) -> dict[str, Any]:
    """The OpenAI `tools` entry for a tool."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }
