"""The memory tools through the Tool protocol: the agent's own memory only, clear refusals."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from django.conf import LazySettings

from agents.models import Agent
from agents.tools.base import Tool, ToolContext, ToolError
from agents.tools.memory import memory_tools
from memory.embeddings import embed_pending
from tests.agents.tool_context import make_ctx
from tests.fakes.openai_server import FakeOpenAI

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ctx(agent: Agent) -> ToolContext:
    return make_ctx(agent.workspace, slug="ada")


@pytest.fixture
def tools() -> dict[str, Tool]:
    return {tool.name: tool for tool in memory_tools()}


def test_memory_tools_have_short_descriptions(tools: dict[str, Tool]) -> None:
    assert list(tools) == ["memory_search", "memory_get", "memory_append", "memory_edit"]
    for tool in tools.values():
        assert len(tool.description) <= 140


async def _run(tools: dict[str, Tool], name: str, ctx: ToolContext, **args: object) -> str:
    tool = tools.get(name)
    assert tool is not None
    return await tool.run(dict(args), ctx)


async def test_append_then_search_then_get(
    tools: dict[str, Tool], ctx: ToolContext, settings: LazySettings
) -> None:
    answer = await _run(tools, "memory_append", ctx, text="The user's bike is a blue Brompton.")
    today = dt.datetime.now(ZoneInfo(settings.TIME_ZONE)).date()
    assert answer == f"Appended to memory/{today:%Y-%m-%d}.md."
    found = await _run(tools, "memory_search", ctx, query="brompton bike")
    # The matching line, cited, and nothing else: its neighbours are blank.
    assert found == f"memory/{today:%Y-%m-%d}.md:5-5\nThe user's bike is a blue Brompton."
    lines = await _run(tools, "memory_get", ctx, path=f"memory/{today:%Y-%m-%d}.md", from_line=5)
    assert (
        lines == f"memory/{today:%Y-%m-%d}.md lines 5-5 of 5\nThe user's bike is a blue Brompton."
    )


async def test_search_with_nothing_to_search_explains(
    tools: dict[str, Tool], ctx: ToolContext
) -> None:
    assert "empty" in await _run(tools, "memory_search", ctx, query="  ")
    assert await _run(tools, "memory_search", ctx, query="unicorn") == (
        "No memory matches these words."
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../bob/MEMORY.md", "not a memory file"),
        ("/etc/passwd", "not a memory file"),
        ("AGENTS.md", "not a memory file"),
        ("memory/2020-01-01.md", "does not exist"),
    ],
)
async def test_get_refuses_other_files(
    tools: dict[str, Tool], ctx: ToolContext, path: str, message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        await _run(tools, "memory_get", ctx, path=path)


async def test_get_does_not_follow_a_symlink_out_of_the_workspace(
    tools: dict[str, Tool], ctx: ToolContext, agent: Agent, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (agent.workspace / "memory" / "2024-01-01.md").symlink_to(secret)
    with pytest.raises(ToolError, match="outside the workspace"):
        await _run(tools, "memory_get", ctx, path="memory/2024-01-01.md")


async def test_edit_by_replacement_and_by_content(
    tools: dict[str, Tool], ctx: ToolContext, agent: Agent
) -> None:
    await _run(tools, "memory_edit", ctx, content="- lives in Lyon\n")
    answer = await _run(tools, "memory_edit", ctx, old_text="Lyon", new_text="Lisbon")
    assert answer.startswith("MEMORY.md saved (")
    text = await database_sync_to_async((agent.workspace / "MEMORY.md").read_text)()
    assert text == "- lives in Lisbon\n"
    with pytest.raises(ToolError, match="not found"):
        await _run(tools, "memory_edit", ctx, old_text="Paris", new_text="Rome")
    with pytest.raises(ToolError, match="Give old_text and new_text, or content"):
        await _run(tools, "memory_edit", ctx)


async def test_edit_past_the_cap_tells_the_model_to_curate(
    tools: dict[str, Tool], ctx: ToolContext, settings: LazySettings
) -> None:
    settings.OPENCLAW_MEMORY_MAX_CHARS = 50
    with pytest.raises(ToolError) as refused:
        await _run(tools, "memory_edit", ctx, content="x" * 51)
    assert "limit is 50" in str(refused.value)
    assert "Curate it first" in str(refused.value)


async def test_search_embeds_the_query_when_hybrid_is_on(
    tools: dict[str, Tool], ctx: ToolContext, settings: LazySettings, fake_openai: FakeOpenAI
) -> None:
    settings.OPENCLAW_EMBEDDINGS_MODEL = "fake-embed"
    settings.OPENCLAW_EMBEDDINGS_BASE_URL = fake_openai.base_url
    await _run(tools, "memory_append", ctx, text="Ordered a sourdough starter from Tartine.")
    assert await embed_pending("ada") == 1
    found = await _run(tools, "memory_search", ctx, query="sourdough")
    assert "Tartine" in found
    bodies = [r.body for r in fake_openai.requests if r.path == "/v1/embeddings"]
    assert bodies[-1]["input"] == ["sourdough"]
