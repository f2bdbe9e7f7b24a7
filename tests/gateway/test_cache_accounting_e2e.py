"""Prompt-cache accounting end to end: the cached input tokens the provider reports (OpenAI's
cache reads; Anthropic's reads and writes) are recorded per session and per agent/day by a real
`manage.py gateway`, priced, and shown as a hit rate by `/status` and `manage.py status`."""

import asyncio
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI, Text, Usage
from tests.gateway_process import ROOT, base_env
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e


async def test_cached_tokens_are_recorded_and_shown_as_a_hit_rate(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    fake_openai.script(
        Text("first", usage=Usage(prompt_tokens=1_000, completion_tokens=5, cached_tokens=0)),
        Text("second", usage=Usage(prompt_tokens=1_500, completion_tokens=5, cached_tokens=1_200)),
    )
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        await client.chat("one")
        await client.chat("two")
        status, _ = await client.chat("/status")
    assert "cache hit rate 48% (1,200 of 2,500 input tokens cached)" in status["data"]["text"]
    with sqlite3.connect(gateway.home / "openclaw.sqlite3", timeout=20) as db:
        session = db.execute(
            "SELECT tokens_in, tokens_cached FROM agents_session WHERE key = 'agent:main:main'"
        ).fetchone()
        day = db.execute("SELECT prompt_tokens, cached_tokens FROM agents_dailyusage").fetchall()
    assert session == (2_500, 1_200)
    assert day == [(2_500, 1_200)]
    report = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "manage.py", "status"],
        cwd=ROOT,
        env=base_env(gateway.home, OPENCLAW_PORT=str(gateway.port)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert (
        "Prompt cache today: cache hit rate 48% (1,200 of 2,500 input tokens cached)"
        in report.stdout
    )


async def test_anthropic_cache_writes_and_reads_are_recorded_and_priced(
    gateway_factory: GatewayFactory,
) -> None:
    with FakeAnthropic() as anthropic:
        gateway = gateway_factory(
            OPENCLAW_MODEL="anthropic/claude-fake",
            ANTHROPIC_BASE_URL=anthropic.url,
            ANTHROPIC_API_KEY="sk-ant-test",
        )
        with sqlite3.connect(gateway.home / "openclaw.sqlite3", timeout=20) as db:
            db.execute(
                "INSERT INTO agents_modelprice (model, input_per_mtok, cached_input_per_mtok, "
                "cache_write_per_mtok, output_per_mtok) VALUES ('anthropic/claude-fake', 3, "
                "0.3, 3.75, 15)"
            )
        async with gateway.connect() as ws:
            client = ProtocolClient(ws)
            await client.chat("one")  # the stable prefix (tools + system) is written
            await client.chat("two")  # and read back
            status, _ = await client.chat("/status")
        assert len(anthropic.requests) == 2
    with sqlite3.connect(gateway.home / "openclaw.sqlite3", timeout=20) as db:
        tokens_in, tokens_out, cached, written, cost = db.execute(
            "SELECT tokens_in, tokens_out, tokens_cached, tokens_cache_write, cost "
            "FROM agents_session "
            "WHERE key = 'agent:main:main'"
        ).fetchone()
        day = db.execute(
            "SELECT cached_tokens, cache_write_tokens FROM agents_dailyusage"
        ).fetchall()
    assert written > 0 and cached == written  # the same prefix, written once, read once
    assert day == [(cached, written)]
    fresh = tokens_in - cached - written
    expected = (fresh * 3 + cached * 0.3 + written * 3.75 + tokens_out * 15) / 1e6
    assert float(cost) == pytest.approx(expected, abs=1e-6)
    rate = f"cache hit rate {cached / tokens_in:.0%} ({cached:,} of {tokens_in:,} input tokens "
    assert rate + f"cached; {written:,} written)" in status["data"]["text"]
