"""The `Tool` protocol and the registry the loop offers to the model.

A tool is an object with a name, a short description (paid in every prompt: keep it short), a
JSON schema for its arguments and an async `run`. `run` returns text for the model; it raises
`ToolError` for anything the model should read and correct (bad path, missing file, refusal).
Any other exception is a bug: the loop reports it to the model as an internal tool error.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agents.services import AgentConfig, SessionRef


class ToolError(Exception):
    """A failure the model should see and may correct. The message goes back verbatim."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    run_id: str
    session: SessionRef
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def agent(self) -> AgentConfig:
        return self.session.agent

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


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"Tool {tool.name!r} registered twice")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def select(self, allow: Iterable[str] | None = None, deny: Iterable[str] = ()) -> list[Tool]:
        """Tools in registration order, filtered by an allow list (None: all) and a deny list."""
        allowed = None if allow is None else set(allow)
        denied = set(deny)
        return [
            t
            for name, t in self._tools.items()
            if (allowed is None or name in allowed) and name not in denied
        ]
