"""MCP tools and trust, end to end: a real gateway long-polls the fake Telegram Bot API; the
agent uses the fake MCP server. Its tools are offered to the owner, but neither to a group nor
to a paired stranger until the server allows it; a call the model makes anyway is refused."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import JSON, FakeOpenAI, Reply, Text, ToolCall, ToolCalls
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway, manage
from tests.mcp.test_mcp_e2e import seed

pytestmark = pytest.mark.e2e

TOKEN = "123:fake"
OWNER, STRANGER, MEMBER = 6000, 6001, 6002
GROUP = -100700


def echo_anyway(body: JSON) -> Reply:
    """A model that calls `fake__echo` whether it was offered or not, then repeats the result."""
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return Text("result: " + str(messages[-1]["content"]))
    return ToolCalls(ToolCall("fake__echo", json.dumps({"text": "via mcp"})))


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def env(telegram: FakeTelegram) -> dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_POLL_TIMEOUT": "1",
    }


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    telegram: FakeTelegram,
    model: FakeOpenAI,
    env: dict[str, str],
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("mcp-trust"), model)
    code = (
        "from gateway.platforms import ensure_default_accounts\n"
        "from gateway.models import ChannelAccount\n"
        "from agents.models import Agent\n"
        "ensure_default_accounts()\n"
        "ChannelAccount.objects.filter(channel='telegram').update("
        f"owner_ids=['{OWNER}'], allow_from=['{STRANGER}'], group_allowlist=['{GROUP}'],"
        " group_sender_allowlist=[])\n"
        "Agent.objects.filter(slug='main').update(tool_profile='full', group_tools=[])\n"
    )
    manage(factory.home, env, "shell", "-c", code)
    seed(factory.home, env)
    gateway = factory(start=True, **env)
    try:
        telegram.wait_for(lambda: telegram.calls_to("getUpdates"))
        yield gateway
    finally:
        factory.close()


def allow(gateway: Gateway, env: dict[str, str], flag: str) -> None:
    code = f"from agents.mcp.models import MCPServer; MCPServer.objects.update({flag}=True)"
    manage(gateway.home, env, "shell", "-c", code)


def ask(telegram: FakeTelegram, model: FakeOpenAI, chat: int, sender: int, text: str) -> str:
    """Send `text`, wait for the answer; the tools the model was offered come back too."""
    before = len(telegram.messages(chat))
    model.script(echo_anyway, echo_anyway)
    telegram.push_update(telegram.text(chat, text, sender=sender))
    telegram.wait_for(lambda: len(telegram.messages(chat)) > before, timeout=30)
    telegram.wait_for(lambda: "result:" in telegram.messages(chat)[-1].text, timeout=30)
    return telegram.messages(chat)[-1].text


def offered(model: FakeOpenAI, marker: str) -> set[str]:
    [body, *_] = [r.body for r in model.requests if marker in json.dumps(r.body)]
    return {t["function"]["name"] for t in body.get("tools") or []}


def test_the_owner_is_offered_the_servers_tools(
    gateway: Gateway, telegram: FakeTelegram, model: FakeOpenAI
) -> None:
    answer = ask(telegram, model, OWNER, OWNER, "owner t1")
    assert "fake__echo" in offered(model, "owner t1")
    assert answer == "result: echo: via mcp"


def test_a_group_gets_no_mcp_tool_unless_the_server_allows_groups(
    gateway: Gateway,
    telegram: FakeTelegram,
    model: FakeOpenAI,
    env: dict[str, str],
) -> None:
    answer = ask(telegram, model, GROUP, MEMBER, "@openclaw_bot group t2")
    assert not {n for n in offered(model, "group t2") if n.startswith("fake__")}
    assert "no tool named 'fake__echo' is available here" in answer
    allow(gateway, env, "allow_in_groups")
    answer = ask(telegram, model, GROUP, MEMBER, "@openclaw_bot group t3")
    assert "fake__echo" in offered(model, "group t3")
    assert answer == "result: echo: via mcp"


def test_a_paired_stranger_gets_no_mcp_tool_unless_the_server_allows_it(
    gateway: Gateway,
    telegram: FakeTelegram,
    model: FakeOpenAI,
    env: dict[str, str],
) -> None:
    answer = ask(telegram, model, STRANGER, STRANGER, "stranger t4")
    assert not {n for n in offered(model, "stranger t4") if n.startswith("fake__")}
    assert "no tool named 'fake__echo' is available here" in answer
    allow(gateway, env, "allow_paired")
    answer = ask(telegram, model, STRANGER, STRANGER, "stranger t5")
    assert "fake__echo" in offered(model, "stranger t5")
    assert answer == "result: echo: via mcp"
