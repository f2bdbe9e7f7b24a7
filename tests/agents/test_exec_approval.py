"""exec through the loop: off by default, and with approval on, it waits for an operator's
decision from the web chat (`exec.decide`)."""

import hashlib
import json

import pytest
from channels.db import database_sync_to_async

from agents.models import Agent
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True)]
ECHO = ToolCalls(ToolCall("exec", '{"command": "echo ran-$((40+2))"}'))


async def configure(**fields: object) -> None:
    await database_sync_to_async(Agent.objects.filter(slug="main").update)(**fields)


def last_tool_result(fake: FakeOpenAI) -> str:
    return str(fake.requests[-1].body["messages"][-1]["content"])


async def test_exec_is_not_offered_unless_enabled(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(ECHO, Text("ok"))
    await client.chat("run it")
    assert "exec" not in {t["function"]["name"] for t in fake_openai.requests[0].body["tools"]}
    assert "no tool named 'exec'" in last_tool_result(fake_openai)


async def test_an_approved_command_runs(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    await configure(exec_enabled=True, exec_approval=True)
    fake_openai.script(ECHO, Text("done"))
    sent = await client.request("chat.send", {"text": "run it"})
    run = sent["result"]["run"]
    pending = await client.until_event({"chat.approval"}, run)
    assert pending["data"]["status"] == "pending"
    assert pending["data"]["command"] == "echo ran-$((40+2))"
    decided = await client.request(
        "exec.decide", {"approval": pending["data"]["approval"], "approve": True}
    )
    assert decided["result"]["status"] == "approved"
    end = await client.until_event({"chat.final"}, run)
    assert end["data"]["text"] == "done"
    assert "ran-42" in last_tool_result(fake_openai)
    again = await client.request(
        "exec.decide", {"approval": pending["data"]["approval"], "approve": False}
    )
    assert again["error"]["code"] == "not_found"


async def test_a_denied_command_never_runs(client: ProtocolClient, fake_openai: FakeOpenAI) -> None:
    await configure(exec_enabled=True, exec_approval=True)
    fake_openai.script(ECHO, Text("understood"))
    run = (await client.request("chat.send", {"text": "run it"}))["result"]["run"]
    pending = await client.until_event({"chat.approval"}, run)
    await client.request("exec.decide", {"approval": pending["data"]["approval"], "approve": False})
    await client.until_event({"chat.final"}, run)
    result = last_tool_result(fake_openai)
    assert "denied" in result
    assert "ran-42" not in result


async def test_without_the_approval_step_exec_runs_at_once(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await configure(exec_enabled=True, exec_approval=False)
    fake_openai.script(ECHO, Text("done"))
    await client.chat("run it")
    assert "ran-42" in last_tool_result(fake_openai)


async def test_a_padded_command_is_approved_and_run_whole(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    """A payload hidden behind 12,000 characters of padding: the approval shows and records the
    whole command (bound by its hash), and what runs is byte for byte what was approved."""
    from gateway.models import ExecApproval

    await configure(exec_enabled=True, exec_approval=True)
    command = "true" + " " * 12_000 + "; echo tail-$((6*7))"
    fake_openai.script(ToolCalls(ToolCall("exec", json.dumps({"command": command}))), Text("ok"))
    run = (await client.request("chat.send", {"text": "run it"}))["result"]["run"]
    pending = await client.until_event({"chat.approval"}, run)
    assert pending["data"]["command"] == command
    approval = pending["data"]["approval"]
    record = await database_sync_to_async(ExecApproval.objects.get)(pk=approval)
    assert record.command == command
    assert record.command_sha256 == hashlib.sha256(command.encode()).hexdigest()
    await client.request("exec.decide", {"approval": approval, "approve": True})
    await client.until_event({"chat.final"}, run)
    assert "tail-42" in last_tool_result(fake_openai)


async def test_an_approval_never_carries_over_to_another_command(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    """The record edited after the decision (another command under the same approval): the
    command the run asked about is no longer the approved one, so it does not run."""
    from gateway.models import ExecApproval

    await configure(exec_enabled=True, exec_approval=True)
    fake_openai.script(ECHO, Text("ok"))
    run = (await client.request("chat.send", {"text": "run it"}))["result"]["run"]
    pending = await client.until_event({"chat.approval"}, run)
    approval = pending["data"]["approval"]
    await database_sync_to_async(ExecApproval.objects.filter(pk=approval).update)(
        command="echo something-else"
    )
    await client.request("exec.decide", {"approval": approval, "approve": True})
    await client.until_event({"chat.final"}, run)
    result = last_tool_result(fake_openai)
    assert "denied" in result
    assert "ran-42" not in result
