"""MCP tools end to end: a real `manage.py gateway` with two MCP servers attached to its agent
(the fake MCP server over stdio, started by the gateway; and over streamable HTTP with a token
header), the fake model calling `<server>__<tool>` from the web chat."""

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import JSON, FakeOpenAI, Reply, Text, ToolCall, ToolCalls
from tests.gateway_process import Gateway, manage
from tests.mcp.conftest import FAKE, HTTP_TOKEN, HttpServer
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

FIVE = ["add", "crash", "echo", "info", "slow"]


def seed(home: Path, env: dict[str, str], http_url: str = "") -> None:
    """The stdio server `fake` (timeout 5 s) and, with a URL, the HTTP server `web`, both used
    by the agent `main`."""
    code = (
        "from agents.mcp.models import MCPServer\n"
        "from agents.models import Agent\n"
        "main = Agent.objects.get(slug='main')\n"
        f"s = MCPServer.objects.create(name='fake', command={sys.executable!r},"
        f" args=[{FAKE!r}, 'stdio'], timeout=5)\n"
        "s.agents.add(main)\n"
    )
    if http_url:
        code += (
            f"w = MCPServer.objects.create(name='web', transport='http', url={http_url!r},"
            " headers={'Authorization': 'MCP_WEB_AUTH'}, timeout=5)\n"
            "w.agents.add(main)\n"
        )
    manage(home, env, "shell", "-c", code)


def calling(*calls: ToolCall) -> "list[Reply | object]":
    """A model turn: call these tools, then answer with what they returned."""

    def answer(body: JSON) -> Reply:
        results = [m for m in body["messages"] if m.get("role") == "tool"]
        return Text("results: " + " | ".join(str(m["content"]) for m in results))

    return [ToolCalls(list(calls)), answer]


def tool_results(model: FakeOpenAI, marker: str) -> list[str]:
    """The tool results the model was sent in the turn whose user message holds `marker`."""
    bodies = [r.body for r in model.requests if marker in json.dumps(r.body)]
    messages = bodies[-1]["messages"]
    start = max(i for i, m in enumerate(messages) if marker in json.dumps(m))
    return [str(m["content"]) for m in messages[start:] if m.get("role") == "tool"]


def offered(body: JSON) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools") or []]


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return {"MCP_WEB_AUTH": f"Bearer {HTTP_TOKEN}"}


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    model: FakeOpenAI,
    http_server: HttpServer,
    env: dict[str, str],
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("mcp"), model)
    seed(factory.home, env, http_server.url)
    try:
        yield factory(start=True, **env)
    finally:
        factory.close()


async def turn(gateway: Gateway, model: FakeOpenAI, text: str, *calls: ToolCall) -> str:
    if calls:
        model.script(*calling(*calls))  # type: ignore[arg-type]  # replies and a callable
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat(text)
    assert end["event"] == "chat.final", end
    return str(end["data"]["text"])


async def test_the_tool_result_reaches_the_model(gateway: Gateway, model: FakeOpenAI) -> None:
    call = ToolCall("fake__echo", json.dumps({"text": "from the gateway"}))
    answer = await turn(gateway, model, "echo m1", call)
    assert tool_results(model, "echo m1") == ["echo: from the gateway"]
    assert answer == "results: echo: from the gateway"
    request = next(r.body for r in model.requests if "echo m1" in json.dumps(r.body))
    names = offered(request)
    assert [n for n in names if "__" in n] == [f"fake__{t}" for t in FIVE] + [
        f"web__{t}" for t in FIVE
    ]
    echo = next(t for t in request["tools"] if t["function"]["name"] == "fake__echo")
    assert echo["function"]["parameters"]["required"] == ["text"]  # the schema as given


async def test_a_server_over_http_serves_its_tools(gateway: Gateway, model: FakeOpenAI) -> None:
    await turn(gateway, model, "add m2", ToolCall("web__add", json.dumps({"a": 2, "b": 40})))
    assert tool_results(model, "add m2") == ["42"]


async def test_a_crash_mid_call_is_a_tool_error_and_the_server_restarts_for_the_next_call(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    await turn(gateway, model, "pid m3", ToolCall("fake__info"))
    [before] = tool_results(model, "pid m3")
    await turn(gateway, model, "crash m3", ToolCall("fake__crash"))
    [crashed] = tool_results(model, "crash m3")
    assert crashed.startswith("Error: MCP server fake stopped during the call")
    await turn(gateway, model, "again m3", ToolCall("fake__info"))
    [after] = tool_results(model, "again m3")
    assert json.loads(after)["pid"] != json.loads(before)["pid"]


async def test_a_slow_tool_times_out_as_a_tool_error(gateway: Gateway, model: FakeOpenAI) -> None:
    start = time.monotonic()
    await turn(gateway, model, "slow m4", ToolCall("fake__slow", json.dumps({"seconds": 60})))
    assert tool_results(model, "slow m4") == ["Error: fake__slow took longer than 5 s."]
    assert time.monotonic() - start < 30
    await turn(gateway, model, "echo m4", ToolCall("fake__echo", json.dumps({"text": "ok"})))
    assert tool_results(model, "echo m4") == ["echo: ok"]  # the server still serves


async def test_the_tool_specs_stay_byte_identical_between_turns(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    await turn(gateway, model, "plain m5")
    await turn(gateway, model, "plain m6")
    first, second = (
        next(r.body for r in model.requests if marker in json.dumps(r.body))
        for marker in ("plain m5", "plain m6")
    )
    assert json.dumps(first["tools"]) == json.dumps(second["tools"])
    assert first["messages"][0] == second["messages"][0]  # the system prompt too


def test_manage_py_mcp_lists_servers_and_tools(gateway: Gateway, env: dict[str, str]) -> None:
    listing = manage(gateway.home, env, "mcp", "list")
    assert "fake\tstdio\tenabled\tmain\t" in listing
    assert "web\thttp\tenabled\tmain\thttp://127.0.0.1:" in listing
    tools = manage(gateway.home, env, "mcp", "tools", "fake")
    assert [line.split("\t")[0] for line in tools.splitlines()] == [f"fake__{t}" for t in FIVE]
    assert "fake__echo\tRepeat the text." in tools
    tested = manage(gateway.home, env, "mcp", "test", "web")
    assert "web: ok in " in tested
    assert "5 tools offered" in tested


def test_the_gateway_stops_its_stdio_servers_on_shutdown(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    seed(gateway_factory.home, {})
    gateway = gateway_factory()
    asyncio.run(turn(gateway, fake_openai, "pid m7", ToolCall("fake__info")))
    [info] = tool_results(fake_openai, "pid m7")
    pid = json.loads(info)["pid"]
    os.kill(pid, 0)  # running
    assert gateway.terminate() == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"the MCP server {pid} outlived the gateway")
