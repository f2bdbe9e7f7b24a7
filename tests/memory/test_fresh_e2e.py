"""End to end: a memory file written on disk while `manage.py gateway` runs is what the next
`memory_search` finds (a new named file at once; an old log edited in place within a second)."""

import asyncio
import json

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e


def _search(query: str) -> ToolCalls:
    return ToolCalls(ToolCall("memory_search", json.dumps({"query": query})))


def _tool_result(fake: FakeOpenAI) -> str:
    assert fake.requests, "no request"
    messages = fake.requests[-1].body["messages"]
    assert any(m["role"] == "tool" for m in messages), [
        (r.path, [m["role"] for m in r.body.get("messages", [])]) for r in fake.requests
    ]
    return str([m for m in messages if m["role"] == "tool"][-1]["content"])


async def test_a_file_written_on_disk_is_found_by_the_next_search(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(start=False)
    memory = gateway.home / "workspaces" / "main" / "memory"
    memory.mkdir(parents=True, exist_ok=True)
    old_log = memory / "2020-01-01.md"
    old_log.write_text("# 2020-01-01\n\n- Planted tomatoes on the balcony.\n")
    gateway.start()
    fake_openai.script(
        Text("Hello."),
        _search("harbour crane budget"),
        Text("Priya."),
        _search("basil balcony"),
        Text("Basil."),
    )
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        await client.chat("hi")  # the gateway has synced at start and watches from now on

        (memory / "2026-11-02-meeting.md").write_text("- Priya owns the harbour crane budget.\n")
        end, _ = await client.chat("Who owns the crane budget?")  # at once: no wait
        assert end["event"] == "chat.final"
        assert fake_openai.requests, (end, gateway.log.read_text()[-2500:])
        found = _tool_result(fake_openai)
        assert found.startswith("memory/2026-11-02-meeting.md:1-1\n")
        assert "Priya owns the harbour crane budget." in found

        with old_log.open("a") as handle:  # in place: the listing is unchanged
            handle.write("- Planted basil next to them.\n")
        await asyncio.sleep(1.0)
        end, _ = await client.chat("What did I plant on the balcony?")
        assert end["event"] == "chat.final"
        assert "- Planted basil next to them." in _tool_result(fake_openai)
