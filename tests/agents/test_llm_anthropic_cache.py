"""The fake Anthropic API's prompt cache as the API bills it (tests/fakes/anthropic_cache.py),
through the real SDK and our request: the stable prefix and the conversation so far are read
back on the next turn, only the new tail is written; the connection is kept between calls."""

from collections.abc import AsyncIterator

import anthropic
import pytest

from agents.llm import Finished, Message, ModelEvent
from agents.llm_chat import ProviderChatModel
from agents.transcripts import Usage
from tests.agents.test_llm_anthropic import TOOLS, call
from tests.fakes.anthropic_cache import PromptCache
from tests.fakes.anthropic_server import FakeAnthropic

SYSTEM: list[Message] = [{"role": "system", "content": "You are terse. " * 40}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic(cache="anthropic") as server:
        yield server


@pytest.fixture
async def model() -> AsyncIterator[ProviderChatModel]:
    chat = ProviderChatModel()
    yield chat
    await chat.aclose()


async def usage_of(model: ProviderChatModel, url: str, prompt: list[Message]) -> Usage:
    got: list[ModelEvent] = [e async for e in model.stream(prompt, call(url), TOOLS)]
    assert isinstance(got[-1], Finished) and got[-1].usage is not None
    return got[-1].usage


async def test_each_turn_reads_the_last_turns_prompt_and_writes_only_what_is_new(
    fake: FakeAnthropic, model: ProviderChatModel
) -> None:
    first_prompt = [*SYSTEM, {"role": "user", "content": "one"}]
    first = await usage_of(model, fake.url, first_prompt)
    assert "cached_tokens" not in first
    assert first["cache_creation_tokens"] == first["prompt_tokens"]  # the last block is marked
    second_prompt = [
        *first_prompt,
        {"role": "assistant", "content": "echo: one"},
        {"role": "user", "content": "two"},
    ]
    second = await usage_of(model, fake.url, second_prompt)
    assert second["cached_tokens"] == first["cache_creation_tokens"]
    written = second["cache_creation_tokens"]
    assert 0 < written < second["cached_tokens"]  # the answer and the new message
    assert second["prompt_tokens"] == second["cached_tokens"] + written
    again = await usage_of(model, fake.url, second_prompt)
    assert again.get("cached_tokens") == second["prompt_tokens"]
    assert "cache_creation_tokens" not in again
    assert len({r.peer for r in fake.requests}) == 1  # one kept-alive connection for all three


async def test_a_changed_system_prompt_reads_only_the_tools(
    fake: FakeAnthropic, model: ProviderChatModel
) -> None:
    await usage_of(model, fake.url, [*SYSTEM, {"role": "user", "content": "one"}])
    changed: list[Message] = [{"role": "system", "content": "You are chatty. " * 40}]
    usage = await usage_of(model, fake.url, [*changed, {"role": "user", "content": "one"}])
    tools_only = PromptCache().usage({"tools": fake.requests[0].body["tools"]})
    assert usage["cached_tokens"] == tools_only["cache_creation_input_tokens"]


def test_a_prefix_under_the_models_minimum_is_not_cached() -> None:
    cache = PromptCache(min_tokens=1024)
    body = {"system": [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]}
    assert cache.usage(body)["cache_creation_input_tokens"] == 0
    assert cache.usage(body)["cache_read_input_tokens"] == 0


def test_the_lookback_reaches_20_blocks_back_and_no_further() -> None:
    marked = {"type": "ephemeral"}

    def body(n: int) -> dict[str, object]:
        parts: list[dict[str, object]] = [
            {"type": "text", "text": f"block {i} " * 10} for i in range(n)
        ]
        parts[-1] = parts[-1] | {"cache_control": marked}
        return {"messages": [{"role": "user", "content": parts}]}

    cache = PromptCache()
    first = cache.usage(body(5))
    assert cache.usage(body(25))["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    cache = PromptCache()
    cache.usage(body(5))
    assert cache.usage(body(26))["cache_read_input_tokens"] == 0


async def test_a_fifth_breakpoint_is_refused_as_the_api_does(fake: FakeAnthropic) -> None:
    """The gateway sends at most three (agents.anthropic_format)."""
    marked = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": f"b{i}", "cache_control": marked} for i in range(5)]
    async with anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=fake.url) as client:
        with pytest.raises(anthropic.BadRequestError, match="maximum of 4 blocks"):
            await client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=10,
                messages=[{"role": "user", "content": blocks}],  # type: ignore[misc,list-item]
            )
