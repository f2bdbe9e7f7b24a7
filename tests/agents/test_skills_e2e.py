"""Skills end to end through `manage.py gateway` and the fake model: a skill written on disk
while the gateway runs is in the next turn's system prompt, its SKILL.md (the workspace's and a
shared one's) is readable through read_file, a skill with a missing requirement is listed
unavailable (prompt and `manage.py skills list`), and the prompt prefix stays byte-identical
between turns with skills present."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.gateway_process import manage
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

MISSING = "SKILLTEST_MISSING_TOKEN"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def chats(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.path.endswith("/chat/completions")]


def system(body: dict[str, Any]) -> str:
    first = body["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


async def test_a_skill_on_disk_is_listed_next_turn_and_read_with_read_file(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MISSING, raising=False)
    gateway = gateway_factory()
    home = gateway.home
    own = home / "workspaces" / "main" / "skills" / "pdf-forms" / "SKILL.md"
    shared = home / "skills" / "weather" / "SKILL.md"
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        await client.chat("hello")
        assert "## Skills" not in system(chats(fake_openai)[0])

        write(
            own,
            "---\nname: pdf-forms\ndescription: Fill in PDF forms.\n---\nStep 1: run pdftk.\n",
        )
        write(shared, "---\nname: weather\ndescription: Forecasts.\n---\nCall the API.\n")
        write(
            home / "skills" / "deploy" / "SKILL.md",
            f"---\nname: deploy\ndescription: Ship it.\nmetadata:\n  openclaw:\n"
            f"    requires:\n      env: [{MISSING}]\n---\nfly deploy\n",
        )
        fake_openai.script(
            ToolCalls(
                [
                    ToolCall("read_file", json.dumps({"path": "skills/pdf-forms/SKILL.md"})),
                    ToolCall("read_file", json.dumps({"path": str(shared)})),
                ]
            ),
            Text("Done, following the skill."),
        )
        await client.chat("fill this form")
        await client.chat("thanks")

    bodies = chats(fake_openai)
    assert len(bodies) == 4
    prompt = system(bodies[1])
    assert "- pdf-forms: Fill in PDF forms. (skills/pdf-forms/SKILL.md)" in prompt
    assert f"- weather: Forecasts. ({shared})" in prompt
    assert f"Unavailable on this host now: deploy (needs environment variable {MISSING})." in prompt
    results = [m["content"] for m in bodies[2]["messages"] if m["role"] == "tool"]
    assert len(results) == 2
    assert "Step 1: run pdftk." in results[0]
    assert "Call the API." in results[1]
    # The cacheable prefix (system prompt, tool specs) is byte-identical between turns.
    assert system(bodies[1]) == system(bodies[2]) == system(bodies[3])
    assert bodies[1]["tools"] == bodies[3]["tools"]

    listing = manage(home, {}, "skills", "list", "--agent", "main")
    rows = {line.split()[0]: line for line in listing.splitlines()[4:]}
    assert rows["deploy"].split()[1:3] == ["shared", "unavailable"]
    assert f"needs environment variable {MISSING}" in rows["deploy"]
    assert rows["pdf-forms"].split()[1:3] == ["workspace", "available"]
