"""Failover that learns, through a real `manage.py gateway` and the real model clients: a model
that failed for good is skipped on the next turn (its fallback answers first), and a
rate-limited key gives way to the provider's next key (`OPENAI_API_KEY_2`, `ANTHROPIC_API_KEY_2`)."""

import sqlite3

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic_server import Error as AnthropicError
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.anthropic_server import Text as AnthropicText
from tests.fakes.openai_server import Error, FakeOpenAI, Text
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e


def set_fallbacks(factory: GatewayFactory, models: str) -> None:
    with sqlite3.connect(factory.home / "openclaw.sqlite3", timeout=20) as db:
        db.execute("UPDATE agents_agent SET fallback_models = ? WHERE slug = 'main'", (models,))


async def test_a_dead_primary_is_skipped_on_the_next_turn(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    set_fallbacks(gateway_factory, '["gpt-backup"]')
    gateway = gateway_factory(OPENCLAW_MODEL="gpt-dead", OPENCLAW_MODEL_MAX_RETRIES="0")
    dead = Error(404, "The model `gpt-dead` does not exist.", "invalid_request_error")
    fake_openai.script(dead, Text("from backup"), Text("backup again"))
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        first, _ = await client.chat("one")
        asked_first = [r.body["model"] for r in fake_openai.requests]
        second, _ = await client.chat("two")
        status, _ = await client.chat("/status")
    assert first["data"]["text"] == "from backup"
    assert asked_first == ["gpt-dead", "gpt-backup"]
    assert second["data"]["text"] == "backup again"
    assert [r.body["model"] for r in fake_openai.requests[2:]] == ["gpt-backup"]
    assert "gpt-dead failed" in gateway.output() and "skipped for 30 s" in gateway.output()
    assert "Skipped after failing, their fallbacks answer: gpt-dead (" in status["data"]["text"]


async def test_a_rate_limited_key_gives_way_to_the_next_one(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(
        OPENAI_API_KEY="sk-first-key",
        OPENAI_API_KEY_2="sk-second-key",
        OPENCLAW_MODEL_MAX_RETRIES="0",  # the rotation spends no retry
    )
    fake_openai.script(Error.rate_limit(), Text("second key answers"), Text("still second"))
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        first, _ = await client.chat("one")
        second, _ = await client.chat("two")
    assert first["data"]["text"] == "second key answers"
    assert second["data"]["text"] == "still second"
    # The first key cools down: the next turn starts with the second.
    assert [r.authorization for r in fake_openai.requests] == [
        "Bearer sk-first-key",
        "Bearer sk-second-key",
        "Bearer sk-second-key",
    ]


async def test_an_anthropic_key_at_its_limit_gives_way_to_the_next_one(
    gateway_factory: GatewayFactory,
) -> None:
    with FakeAnthropic() as anthropic:
        gateway = gateway_factory(
            OPENCLAW_MODEL="anthropic/claude-fake",
            ANTHROPIC_BASE_URL=anthropic.url,
            ANTHROPIC_API_KEY="sk-ant-first",
            ANTHROPIC_API_KEY_2="sk-ant-second",
            OPENCLAW_MODEL_MAX_RETRIES="0",
        )
        anthropic.script(AnthropicError.rate_limit(retry_after=5), AnthropicText("second key"))
        async with gateway.connect() as ws:
            end, _ = await ProtocolClient(ws).chat("one")
        keys = [
            r.headers.get("x-api-key") or r.headers.get("Authorization") for r in anthropic.requests
        ]
    assert end["data"]["text"] == "second key"
    assert [key and key.removeprefix("Bearer ") for key in keys] == [
        "sk-ant-first",
        "sk-ant-second",
    ]
