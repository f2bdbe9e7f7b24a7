"""The tool runner turns every failure into a result the model reads; nothing escapes."""

import asyncio
from typing import Any

import pytest

from agents.llm import ToolCallDelta
from agents.services import AgentConfig, SessionRef
from agents.toolrunner import CallAssembler, ToolCall, run_calls
from agents.tools.base import ToolContext, ToolError


class Boom:
    name, description = "boom", "Raises."
    parameters: dict[str, Any] = {"type": "object", "properties": {}}

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        raise RuntimeError("bug inside the tool")


class Refuse(Boom):
    name = "refuse"

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        raise ToolError("path escapes the workspace")


class Slow(Boom):
    name = "slow"

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        await asyncio.sleep(10)
        return "late"


class Loud(Boom):
    name = "loud"

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        return "x" * 50_000


def ctx() -> ToolContext:
    agent = AgentConfig("main", "Main", "m", "", "OPENAI_API_KEY", "", None, 100, 1000, "unused")
    return ToolContext("run1", SessionRef(1, "agent:main:main", "s", agent, "unused.jsonl"))


async def test_failures_become_results_and_events_report_each_call(settings: Any) -> None:
    settings.OPENCLAW_TOOL_TIMEOUT = 0.2
    settings.OPENCLAW_TOOL_OUTPUT_CHARS = 1000
    events: list[tuple[str, dict[str, Any]]] = []

    async def emit(name: str, data: dict[str, Any]) -> None:
        events.append((name, data))

    calls = [
        ToolCall(f"c{i}", name, "{}")
        for i, name in enumerate(["boom", "refuse", "slow", "loud", "nope"])
    ]
    calls.append(ToolCall("c9", "boom", "[1]"))
    outcomes = await run_calls(calls, [Boom(), Refuse(), Slow(), Loud()], ctx(), emit)
    texts = [o.content for o in outcomes]
    assert "failed unexpectedly" in texts[0]
    assert texts[1] == "Error: path escapes the workspace"
    assert "took longer than 0.2 s" in texts[2]
    assert texts[3].startswith("x" * 1000)
    assert "truncated" in texts[3]
    assert "no tool named 'nope'" in texts[4]
    assert "must be a JSON object" in texts[5]
    assert [o.ok for o in outcomes] == [False, False, False, True, False, False]
    statuses = [(d["call_id"], d["status"]) for _, d in events]
    assert ("c3", "done") in statuses
    assert ("c0", "error") in statuses
    assert len(events) == 2 * len(calls)


@pytest.mark.parametrize("with_ids", [True, False])
def test_streamed_call_pieces_assemble_by_index(with_ids: bool) -> None:
    assembler = CallAssembler()
    for delta in [
        ToolCallDelta(0, "a" if with_ids else None, "read_file", '{"pa'),
        ToolCallDelta(1, "b" if with_ids else None, "list_dir", "{}"),
        ToolCallDelta(0, None, None, 'th": "x"}'),
    ]:
        assembler.add(delta)
    calls = assembler.finish("run1", 0)
    assert [(c.name, c.arguments) for c in calls] == [
        ("read_file", '{"path": "x"}'),
        ("list_dir", "{}"),
    ]
    assert all(c.id for c in calls)
    assert len({c.id for c in calls}) == 2
