"""Prompt-cache accounting end to end: the cached input tokens the provider reports are recorded
per session and per agent/day by a real `manage.py gateway`, and shown as a hit rate by `/status`
in the chat and by `manage.py status`."""

import asyncio
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import GatewayFactory
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
