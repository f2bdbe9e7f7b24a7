"""`chat.attach`: a socket that (re)connects mid-answer gets the text so far and the rest of the
stream, nothing lost and nothing twice, with the real consumer, lanes and loop in-process."""

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from gateway import inflight
from openclaw.asgi import build_application
from tests.fakes.openai_server import FakeOpenAI, Hang, Text, ToolCall, ToolCalls
from tests.wsclient import CommunicatorSocket, ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

WORDS = [f"w{i} " for i in range(40)]


async def second_socket() -> tuple[WebsocketCommunicator, ProtocolClient]:
    communicator = WebsocketCommunicator(
        build_application(), "/ws/gateway/?token=test-gateway-token"
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator, ProtocolClient(CommunicatorSocket(communicator))


async def deltas_until_end(client: ProtocolClient, run: str) -> tuple[list[Any], dict[str, Any]]:
    """The chat.delta data of `run` received before its terminal event, and that event."""
    end = await client.until_event({"chat.final", "chat.error"}, run)
    deltas = [
        e["data"]
        for e in client.events
        if e.get("event") == "chat.delta" and e["data"]["run"] == run
    ]
    return deltas, end


async def test_attach_mid_answer_gets_text_so_far_then_the_rest_exactly_once(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Text(WORDS, chunk_delay=0.03))
    sent = await client.request("chat.send", {"text": "count", "session": "agent:main:main"})
    run = sent["result"]["run"]
    first = await client.until_event({"chat.delta"}, run)
    assert first["data"]["seq"] == 0  # every delta carries its index in the run

    communicator, late = await second_socket()  # the page after a dropped socket
    try:
        attached = await late.request("chat.attach", {"session": "agent:main:main"})
        assert attached["ok"], attached
        live = attached["result"]["live"]
        assert live["run"] == run and live["approval"] is None and live["tools"] == []
        assert "".join(WORDS).startswith(live["text"]) and live["text"] and live["seq"] >= 1

        deltas, end = await deltas_until_end(late, run)
        assert end["event"] == "chat.final"
        fresh = [d for d in deltas if d["seq"] >= live["seq"]]
        # Every later delta once, in order (words read together share one; the last words may
        # come in the final only, which holds the whole answer).
        assert [d["seq"] for d in fresh] == list(range(live["seq"], live["seq"] + len(fresh)))
        assert len(fresh) >= 1
        streamed = live["text"] + "".join(d["text"] for d in fresh)
        assert end["data"]["text"] == "".join(WORDS) and end["data"]["text"].startswith(streamed)

        again = await late.request("chat.attach", {"session": "agent:main:main"})
        assert again["result"] == {"session": "agent:main:main", "live": None}
    finally:
        await communicator.disconnect()


async def test_attach_reports_tool_calls_of_the_live_run(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        ToolCalls(ToolCall("read_file", '{"path": "SOUL.md"}'), content=["Let me look. "]),
        Hang(partial=["Reading "]),
    )
    sent = await client.request("chat.send", {"text": "soul?", "session": "agent:main:tools"})
    run = sent["result"]["run"]
    await client.until_event({"chat.delta"}, run)
    done = await client.until_event({"chat.tool"}, run)
    while done["data"]["status"] == "running":
        done = await client.until_event({"chat.tool"}, run)
    second = await client.until_event({"chat.delta"}, run)
    assert second["data"]["text"] == "Reading " and second["data"]["seq"] == 1

    communicator, late = await second_socket()
    try:
        live = (await late.request("chat.attach", {"session": "agent:main:tools"}))["result"][
            "live"
        ]
        assert live["run"] == run and live["text"] == "Let me look. Reading " and live["seq"] == 2
        [tool] = live["tools"]
        assert tool["name"] == "read_file" and tool["status"] == "done"
        assert tool["args"] == '{"path": "SOUL.md"}' and "result_preview" in tool
        assert (await late.request("chat.abort", {"run": run}))["result"] == {"aborted": True}
        _, end = await deltas_until_end(late, run)
        assert end["data"]["stop_reason"] == "aborted"
        assert end["data"]["text"] == "Let me look. Reading "
    finally:
        await communicator.disconnect()
    assert inflight.snapshot("agent:main:tools") is None


async def test_attach_to_an_idle_or_unknown_session_subscribes_all_the_same(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    attached = await client.request("chat.attach", {"session": "agent:main:later"})
    assert attached["result"] == {"session": "agent:main:later", "live": None}

    communicator, other = await second_socket()
    try:
        fake_openai.script(Text("hello there"))
        end, _ = await other.chat("hi", session="agent:main:later")
    finally:
        await communicator.disconnect()
    # The first socket is subscribed by chat.attach alone: it sees the other client's run.
    seen = await client.until_event({"chat.final"}, end["data"]["run"])
    assert seen["data"]["text"] == "hello there"


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, "bad_params"), ({"session": 7}, "bad_params"), ({"session": "k" * 300}, "too_large")],
)
async def test_attach_rejects_bad_params(
    client: ProtocolClient, params: dict[str, Any], code: str
) -> None:
    answer = await client.request("chat.attach", params)
    assert answer["ok"] is False and answer["error"]["code"] == code


def test_a_job_that_ends_without_a_last_event_leaves_nothing_live() -> None:
    data = {"run": "r1", "session": "s"}
    assert inflight.observe("chat.delta", {**data, "text": "a"})["seq"] == 0
    assert inflight.observe("chat.delta", {**data, "text": "b"})["seq"] == 1
    pending = {**data, "approval": 5, "status": "pending", "command": "ls"}
    inflight.observe("chat.approval", pending)
    live = inflight.snapshot("s")
    assert live is not None and live["text"] == "ab" and live["approval"]["command"] == "ls"
    inflight.observe("chat.approval", {**data, "approval": 5, "status": "approved"})
    assert inflight.snapshot("s")["approval"] is None  # type: ignore[index]
    # A new run in the session replaces the old one; a final of another run changes nothing.
    assert inflight.observe("chat.delta", {"run": "r2", "session": "s", "text": "c"})["seq"] == 0
    inflight.observe("chat.final", {**data, "text": "ab"})
    assert inflight.snapshot("s")["run"] == "r2"  # type: ignore[index]
    inflight.end("s")
    assert inflight.snapshot("s") is None
