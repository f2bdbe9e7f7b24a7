"""Each provider end to end through a real `manage.py gateway`: a streamed answer and a tool round
trip over OpenAI (`openai/`), Azure (`azure/`) and Anthropic (`anthropic/`) through their SDKs
against the fakes, and a reasoning model that answers the first user message although the agent
asks for `max_tokens` and a temperature."""

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic_server import FakeAnthropic, ToolUse
from tests.fakes.anthropic_server import Text as AnthropicText
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

READ = json.dumps({"path": "IDENTITY.md"})


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


async def chat(gateway: Any, *texts: str) -> list[tuple[dict[str, Any], list[str]]]:
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        return [await client.chat(text) for text in texts]


@pytest.mark.parametrize("model", ["openai/gpt-fake", "azure/gpt-fake"])
async def test_openai_and_azure_stream_an_answer_and_a_tool_round_trip(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, model: str
) -> None:
    gateway = gateway_factory(
        OPENCLAW_MODEL=model, AZURE_OPENAI_ENDPOINT=fake_openai.url, AZURE_OPENAI_API_KEY="az-key"
    )
    fake_openai.script(
        Text("Hello from the model"),
        ToolCalls(ToolCall("read_file", READ, id="call_1")),
        Text("I read it"),
    )
    (first, deltas), (second, _) = await chat(gateway, "hi", "read your identity")
    assert first["event"] == "chat.final" and first["data"]["text"] == "Hello from the model"
    assert "Hello from the model".startswith("".join(deltas))  # streamed (deltas are batched)
    assert second["event"] == "chat.final" and second["data"]["text"] == "I read it"
    after_tool = fake_openai.requests[-1]
    tool_messages = [m for m in after_tool.body["messages"] if m["role"] == "tool"]
    assert tool_messages and tool_messages[0]["tool_call_id"] == "call_1"
    if model.startswith("azure/"):
        assert after_tool.path == "/openai/deployments/gpt-fake/chat/completions"
        assert after_tool.headers["api-key"] == "az-key"
    else:
        assert after_tool.headers["Authorization"] == "Bearer sk-test"
    assert "max_completion_tokens" in after_tool.body  # OpenAI's own API, and Azure's


async def test_anthropic_streams_an_answer_and_a_tool_round_trip(
    gateway_factory: GatewayFactory, fake_anthropic: FakeAnthropic
) -> None:
    gateway = gateway_factory(
        OPENCLAW_MODEL="anthropic/claude-fake",
        ANTHROPIC_BASE_URL=fake_anthropic.url,
        ANTHROPIC_API_KEY="sk-ant-test",
    )
    fake_anthropic.script(
        AnthropicText("Hello from Claude", thinking="private reasoning"),
        ToolUse("read_file", READ, id="toolu_1"),
        AnthropicText("I read it"),
    )
    (first, deltas), (second, _) = await chat(gateway, "hi", "read your identity")
    assert first["event"] == "chat.final" and first["data"]["text"] == "Hello from Claude"
    assert "Hello from Claude".startswith("".join(deltas))  # streamed (deltas are batched)
    assert "private reasoning" not in json.dumps(first)
    assert second["event"] == "chat.final" and second["data"]["text"] == "I read it"
    body = fake_anthropic.requests[-1].body
    assert body["model"] == "claude-fake"
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    results = [
        block
        for message in body["messages"]
        for block in message["content"]
        if block["type"] == "tool_result"
    ]
    assert results and results[0]["tool_use_id"] == "toolu_1"


async def test_a_reasoning_model_answers_the_first_user_message(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    """A bare reasoning-model id at a compatible URL: `max_tokens` then the temperature are
    refused (OpenAI's 400s), each retried once without it; the user only sees the answer."""
    with sqlite3.connect(gateway_factory.home / "openclaw.sqlite3", timeout=20) as db:
        db.execute("UPDATE agents_agent SET temperature = 0.3 WHERE slug = 'main'")
    gateway = gateway_factory(OPENCLAW_MODEL="gpt-5-mini")
    fake_openai.script(Text("Reasoned answer"))
    [(final, _)] = await chat(gateway, "hello")
    assert final["event"] == "chat.final", final
    assert final["data"]["text"] == "Reasoned answer"
    statuses = [("max_tokens" in r.body, "temperature" in r.body) for r in fake_openai.requests]
    assert statuses == [(True, True), (False, True), (False, False)]


@pytest.mark.parametrize(
    ("model", "prefix", "key_env", "sent_model"),
    [
        ("gemini/gemini-fake", "GEMINI", "GEMINI_API_KEY", "gemini-fake"),
        ("ollama/llama-fake", "OLLAMA", "", "llama-fake"),
        ("openrouter/vendor/model-fake", "OPENROUTER", "OPENROUTER_API_KEY", "vendor/model-fake"),
        ("vllm/served-fake", "VLLM", "", "served-fake"),
    ],
)
async def test_openai_compatible_providers_answer_through_their_own_settings(
    gateway_factory: GatewayFactory,
    fake_openai: FakeOpenAI,
    model: str,
    prefix: str,
    key_env: str,
    sent_model: str,
) -> None:
    """Gemini, Ollama, OpenRouter and vLLM: the provider's base URL and key variables, the id
    without its provider prefix, a streamed answer and a tool round trip."""
    env: dict[str, Any] = {"OPENCLAW_MODEL": model, f"{prefix}_BASE_URL": fake_openai.base_url}
    if key_env:
        env[key_env] = f"{prefix.lower()}-key"
    gateway = gateway_factory(**env)
    fake_openai.script(
        Text("Hello from " + prefix),
        ToolCalls(ToolCall("read_file", READ, id="call_1")),
        Text("I read it"),
    )
    (first, _), (second, _) = await chat(gateway, "hi", "read your identity")
    assert first["event"] == "chat.final" and first["data"]["text"] == "Hello from " + prefix
    assert second["event"] == "chat.final" and second["data"]["text"] == "I read it"
    last = fake_openai.requests[-1]
    assert last.path == "/v1/chat/completions"
    assert last.body["model"] == sent_model
    assert next(m for m in last.body["messages"] if m["role"] == "tool")["tool_call_id"] == "call_1"
    if key_env:
        assert last.headers["Authorization"] == f"Bearer {prefix.lower()}-key"
