"""A server that requires approval, through the real consumer, lanes and loop in process: its
call waits in the exec approval queue, shown as `mcp <tool> <arguments>`, and runs only once an
operator approves it from the web chat (`exec.decide`)."""

import json
import sys

import pytest
from channels.db import database_sync_to_async

from agents.mcp.models import MCPServer
from agents.models import Agent
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.mcp.conftest import FAKE
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]
CALL = ToolCalls(ToolCall("fake__echo", json.dumps({"text": "approved words"})))


def _server() -> None:
    server = MCPServer.objects.create(
        name="fake", command=sys.executable, args=[FAKE, "stdio"], approval_required=True
    )
    server.agents.add(Agent.objects.get(slug="main"))


def last_tool_result(fake: FakeOpenAI) -> str:
    return str(fake.requests[-1].body["messages"][-1]["content"])


@pytest.mark.parametrize(
    ("approve", "expected"), [(True, "echo: approved words"), (False, "denied")]
)
async def test_a_call_runs_only_once_an_operator_approves_it(
    client: ProtocolClient, fake_openai: FakeOpenAI, approve: bool, expected: str
) -> None:
    await database_sync_to_async(_server)()
    fake_openai.script(CALL, Text("done"))
    run = (await client.request("chat.send", {"text": "say it"}))["result"]["run"]
    pending = await client.until_event({"chat.approval"}, run)
    assert pending["data"]["command"] == 'mcp fake__echo {"text": "approved words"}'
    await client.request(
        "exec.decide", {"approval": pending["data"]["approval"], "approve": approve}
    )
    assert (await client.until_event({"chat.final"}, run))["data"]["text"] == "done"
    assert expected in last_tool_result(fake_openai)
