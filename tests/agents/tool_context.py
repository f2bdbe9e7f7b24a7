"""A `ToolContext` for tool tests that need no database: an agent whose workspace is a tmp dir."""

from pathlib import Path
from typing import Any

from agents.host import TurnHost
from agents.services import AgentConfig, SessionRef
from agents.tools.base import ToolContext


def make_ctx(workspace: Path, slug: str = "main", **hooks: Any) -> ToolContext:
    """`hooks`: the turn host's (`agents.host.TurnHost`), e.g. exec_enabled=True."""
    agent = AgentConfig(
        slug=slug,
        name=slug.capitalize(),
        model="gpt-fake",
        base_url="",
        api_key_env="OPENAI_API_KEY",
        instructions="",
        temperature=None,
        max_output_tokens=1024,
        context_window=128_000,
        workspace=str(workspace),
    )
    session = SessionRef(
        pk=1,
        key=f"agent:{slug}:main",
        session_id="0" * 32,
        agent=agent,
        transcript=str(workspace.parent / "transcript.jsonl"),
    )
    return ToolContext(run_id="run-test", session=session, host=TurnHost(**hooks))
