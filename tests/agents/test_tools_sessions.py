"""sessions_list and sessions_history show an agent its own sessions and nobody else's."""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from agents import services
from agents.models import Agent, Session
from agents.tools.base import ToolContext, ToolError
from agents.tools.sessions import SessionsHistoryTool, SessionsListTool
from agents.transcripts import append_entries, make_entry

pytestmark = pytest.mark.django_db(transaction=True)


def _setup() -> ToolContext:
    """Alice with two sessions (one titled, with a transcript), Bob with one."""
    for slug in ("alice", "bob"):
        Agent.objects.create(slug=slug, name=slug.capitalize())
    alice, _ = services.open_session("agent:alice:main")
    services.open_session("agent:alice:slack:dm:u1", channel="slack")
    bob, _ = services.open_session("agent:bob:main")
    Session.objects.filter(pk=alice.pk).update(title="Planning", turns=2)
    append_entries(
        Path(alice.transcript),
        [
            make_entry("session", meta={"agent": "alice"}),
            make_entry("message", role="user", content="first question"),
            make_entry("tool_result", content="file body", meta={"call_id": "c1"}),
            make_entry("message", role="assistant", content="first answer"),
            make_entry("message", role="user", content="second question"),
            make_entry("message", role="assistant", content="second answer"),
        ],
    )
    append_entries(
        Path(bob.transcript), [make_entry("message", role="user", content="bob's secret")]
    )
    return ToolContext(run_id="r1", session=alice)


async def test_sessions_list_shows_only_this_agents_sessions() -> None:
    ctx = await database_sync_to_async(_setup)()
    out = await SessionsListTool().run({}, ctx)
    lines = out.splitlines()
    assert len(lines) == 2
    assert any(line.startswith("agent:alice:main | Planning | last ") for line in lines)
    assert any(line.startswith("agent:alice:slack:dm:u1 | (untitled)") for line in lines)
    assert "| 2 turns" in out
    assert "bob" not in out


async def test_sessions_history_returns_the_last_messages_in_order() -> None:
    ctx = await database_sync_to_async(_setup)()
    out = await SessionsHistoryTool().run({"session": "agent:alice:main"}, ctx)
    said = [line.split("] ", 1)[1] for line in out.split("\n\n")]
    assert said == [
        "user: first question",
        "assistant: first answer",
        "user: second question",
        "assistant: second answer",
    ]
    out = await SessionsHistoryTool().run({"session": "agent:alice:main", "limit": 2}, ctx)
    assert "first" not in out
    assert out.endswith("assistant: second answer")


async def test_sessions_history_of_an_empty_session() -> None:
    ctx = await database_sync_to_async(_setup)()
    out = await SessionsHistoryTool().run({"session": "agent:alice:slack:dm:u1"}, ctx)
    assert out == "No messages in agent:alice:slack:dm:u1 yet."


@pytest.mark.parametrize("key", ["agent:bob:main", "bob", "agent:alice", "agent:alicex:main"])
async def test_sessions_history_refuses_other_agents_sessions(key: str) -> None:
    ctx = await database_sync_to_async(_setup)()
    with pytest.raises(ToolError, match="not one of this agent's sessions"):
        await SessionsHistoryTool().run({"session": key}, ctx)


async def test_sessions_history_of_an_unknown_session() -> None:
    ctx = await database_sync_to_async(_setup)()
    with pytest.raises(ToolError, match="No active session"):
        await SessionsHistoryTool().run({"session": "agent:alice:nope"}, ctx)
