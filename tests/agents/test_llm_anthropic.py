"""`AnthropicChatModel` through the anthropic SDK against the fake Messages API: the prompt
translated at the edge (top-level system, tools, tool_use/tool_result), streamed text and tool
input, stop reasons, usage with the prompt cache, and 429/529 as retryable `ModelError`s."""

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agents import anthropic_format
from agents.llm import (
    Finished,
    Message,
    ModelError,
    ModelEvent,
    ModelSettings,
    TextDelta,
    ToolCallDelta,
)
from agents.llm_chat import ProviderChatModel
from tests.fakes.anthropic_server import Error, FakeAnthropic, Text, ToolUse

SYSTEM: list[Message] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "hello"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file.",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def model() -> AsyncIterator[ProviderChatModel]:
    chat = ProviderChatModel()
    yield chat
    await chat.aclose()


def call(base_url: str, **overrides: Any) -> ModelSettings:
    settings = ModelSettings(
        model="anthropic/claude-sonnet-4-5",
        base_url=base_url,
        api_key="sk-ant-test",
        api_key_env="ANTHROPIC_API_KEY",
        max_tokens=512,
        timeout=5.0,
        idle_timeout=5.0,
    )
    return dataclasses.replace(settings, **overrides)


async def events(
    model: ProviderChatModel, settings: ModelSettings, prompt: list[Message] = SYSTEM
) -> list[ModelEvent]:
    return [event async for event in model.stream(prompt, settings, TOOLS)]


async def test_text_streams_with_a_top_level_system_and_cache_breakpoints(
    fake: FakeAnthropic, model: ProviderChatModel
) -> None:
    got = await events(model, call(fake.url))
    assert "".join(e.text for e in got if isinstance(e, TextDelta)) == "echo: hello"
    assert isinstance(got[-1], Finished) and got[-1].stop_reason == "stop"
    request = fake.requests[-1]
    assert request.path == "/v1/messages"
    assert request.headers["anthropic-version"]
    assert request.headers["Authorization"] == "Bearer sk-ant-test"
    body = request.body
    assert body["model"] == "claude-sonnet-4-5" and body["max_tokens"] == 512
    assert body["system"] == [
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][0]["input_schema"]["properties"] == {"path": {"type": "string"}}
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}


async def test_usage_counts_cache_writes_then_reads(
    fake: FakeAnthropic, model: ProviderChatModel
) -> None:
    first = await events(model, call(fake.url))
    second = await events(model, call(fake.url))
    assert isinstance(first[-1], Finished) and isinstance(second[-1], Finished)
    written, read = first[-1].usage, second[-1].usage
    assert written is not None and read is not None
    assert written.get("cache_creation_tokens", 0) > 0 and "cached_tokens" not in written
    assert read.get("cached_tokens") == written["cache_creation_tokens"]
    assert read["prompt_tokens"] == written["prompt_tokens"]  # cached input counted in it


async def test_tool_use_streams_and_round_trips_as_tool_result(
    fake: FakeAnthropic, model: ProviderChatModel
) -> None:
    args = '{"path": "notes/today.md"}'
    fake.script(ToolUse("read_file", args, id="toolu_7", content="Let me look."))
    got = await events(model, call(fake.url))
    calls = [e for e in got if isinstance(e, ToolCallDelta)]
    assert calls[0] == ToolCallDelta(0, "toolu_7", "read_file", "")
    assert "".join(c.arguments for c in calls) == args
    assert isinstance(got[-1], Finished) and got[-1].stop_reason == "tool_calls"
    history = [
        *SYSTEM,
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "toolu_7",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": args},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_7", "content": "# Today"},
    ]
    fake.script(Text("Done.", thinking="I should summarise"))
    got = await events(model, call(fake.url), history)
    assert [e.text for e in got if isinstance(e, TextDelta)] == ["Done."]  # no thinking
    sent = fake.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_7",
        "name": "read_file",
        "input": {"path": "notes/today.md"},
    }
    assert sent[2]["content"][0]["type"] == "tool_result"
    assert sent[2]["content"][0]["tool_use_id"] == "toolu_7"


@pytest.mark.parametrize(
    ("reply", "code", "status", "retry_after"),
    [
        (Error.rate_limit(retry_after=3), "rate_limited", 429, 3.0),
        (Error.overloaded(), "overloaded", 529, None),
    ],
)
async def test_rate_limits_and_overload_are_retryable_with_the_provider_message(
    fake: FakeAnthropic,
    model: ProviderChatModel,
    reply: Error,
    code: str,
    status: int,
    retry_after: float | None,
) -> None:
    fake.script(reply)
    with pytest.raises(ModelError) as caught:
        await events(model, call(fake.url))
    error = caught.value
    assert (error.code, error.retryable, error.status, error.retry_after) == (
        code,
        True,
        status,
        retry_after,
    )
    assert error.detail == reply.message
    assert f"answered HTTP {status}: {reply.message}" in error.message


async def test_a_refused_key_names_the_variable(
    fake: FakeAnthropic, model: ProviderChatModel
) -> None:
    fake.script(Error(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(ModelError) as caught:
        await events(model, call(fake.url))
    assert caught.value.code == "model_auth"
    assert "invalid x-api-key" in caught.value.message
    assert "ANTHROPIC_API_KEY" in caught.value.message


async def test_no_key_is_a_configuration_error(model: ProviderChatModel) -> None:
    with pytest.raises(ModelError) as caught:
        await events(model, call("http://127.0.0.1:9", api_key=""))
    assert caught.value.code == "model_not_configured"
    assert "ANTHROPIC_API_KEY" in caught.value.message


@pytest.mark.parametrize(
    ("reason", "ours"),
    [("end_turn", "stop"), ("tool_use", "tool_calls"), ("max_tokens", "length"), (None, "stop")],
)
def test_stop_reasons_map_to_ours(reason: str | None, ours: str) -> None:
    assert anthropic_format.stop_reason(reason) == ours


def test_consecutive_turns_of_one_role_merge_and_empty_ones_drop() -> None:
    system, turns = anthropic_format.messages(
        [
            {"role": "system", "content": "a"},
            {"role": "system", "content": "b"},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "two"},
        ]
    )
    assert [b["text"] for b in system] == ["a", "b"]
    assert "cache_control" not in system[0] and "cache_control" in system[1]
    assert len(turns) == 1 and [b["text"] for b in turns[0]["content"]] == ["one", "two"]


def test_blank_turns_drop_and_the_first_turn_is_the_users() -> None:
    _, turns = anthropic_format.messages(
        [
            {"role": "assistant", "content": "Earlier I said hello."},
            {"role": "user", "content": "  "},
            {"role": "user", "content": "go on"},
        ]
    )
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert [b["text"] for b in turns[2]["content"]] == ["go on"]
