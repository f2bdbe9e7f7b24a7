"""The gateway consumer in-process: bad frames, abort, reset, ordering, with the real loop and
the fake model server."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from openclaw.asgi import build_application
from tests.fakes.openai_server import FakeOpenAI, Hang, Text, said
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def req(request_id: str, method: str, params: dict[str, object]) -> str:
    return json.dumps({"type": "req", "id": request_id, "method": method, "params": params})


@pytest.mark.parametrize(
    ("frame", "code", "request_id"),
    [
        ("{", "bad_frame", None),
        ("[]", "bad_frame", None),
        ('{"type":"req","method":"health"}', "bad_frame", None),
        (req("x1", "nope", {}), "unknown_method", "x1"),
        (req("x2", "chat.send", {}), "bad_params", "x2"),
        (req("x3", "chat.send", {"text": 5}), "bad_params", "x3"),
        (req("x4", "chat.send", {"text": "a" * 51}), "too_large", "x4"),
        (
            req("x5", "sessions.history", {"session": "agent:main:main", "limit": 0}),
            "bad_params",
            "x5",
        ),
        (req("x6", "chat.send", {"text": "hi", "agent": "ghost"}), "not_found", "x6"),
        (req("x7", "chat.send", {"text": "hi", "session": "bogus"}), "not_found", "x7"),
        (req("x8", "sessions.reset", {"session": "agent:main:never"}), "not_found", "x8"),
        (req("x9", "health", {"pad": "p" * 2100}), "too_large", None),
    ],
)
async def test_each_bad_frame_gets_its_error_and_the_socket_stays_usable(
    client: ProtocolClient, frame: str, code: str, request_id: str | None
) -> None:
    await client.ws.send(frame)
    res = await client.frame()
    assert res["type"] == "res" and res["ok"] is False and res["id"] == request_id
    assert res["error"]["code"] == code and res["error"]["message"]
    health = await client.request("health")
    assert health["ok"] and health["result"]["runtime"] == "running"


async def test_runs_of_one_session_answer_in_order(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Text("one", chunk_delay=0.05), Text("two"))
    first = await client.request("chat.send", {"text": "a"})
    second = await client.request("chat.send", {"text": "b"})
    end1 = await client.until_event({"chat.final"}, first["result"]["run"])
    end2 = await client.until_event({"chat.final"}, second["result"]["run"])
    assert (end1["data"]["text"], end2["data"]["text"]) == ("one", "two")
    # the second turn saw the first one's answer
    assert [said(m["content"]) for m in fake_openai.requests[-1].body["messages"][1:]] == [
        "a",
        "one",
        "b",
    ]


async def test_abort_ends_the_run_with_the_partial_answer_persisted(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Hang(partial=["partial ", "answer "]))
    sent = await client.request("chat.send", {"text": "tell me everything"})
    run = sent["result"]["run"]
    streamed = ""  # the two chunks come in one delta or two, as they were read
    while streamed != "partial answer ":
        streamed += (await client.until_event({"chat.delta"}, run))["data"]["text"]
    aborted = await client.request("chat.abort", {"run": run})
    assert aborted["result"] == {"aborted": True}
    end = await client.until_event({"chat.final", "chat.error"}, run)
    assert end["event"] == "chat.final"
    assert end["data"]["stop_reason"] == "aborted" and end["data"]["text"] == "partial answer "
    history = await client.request("sessions.history", {"session": "agent:main:main"})
    last = history["result"]["entries"][-1]
    assert last["role"] == "assistant" and last["stop_reason"] == "aborted"
    assert last["content"] == "partial answer "
    fake_openai.script(Text("fine"))
    end, _ = await client.chat("still there?")
    assert end["data"]["text"] == "fine"


async def test_reset_starts_a_fresh_context_and_keeps_the_old_transcript(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    await client.chat("remember 42")
    res = await client.request("sessions.reset", {"session": "agent:main:main"})
    assert res["ok"] and res["result"]["previous"]
    await client.chat("what number?")
    assert [m["role"] for m in fake_openai.requests[-1].body["messages"]] == ["system", "user"]
    from django.conf import settings

    old = settings.OPENCLAW_HOME / "sessions" / "main" / f"{res['result']['previous']}.jsonl"
    assert "remember 42" in old.read_text()


async def test_named_sessions_are_separate_and_listed(client: ProtocolClient) -> None:
    await client.chat("in a", session="agent:main:a")
    await client.chat("in b", session="agent:main:b")
    listing = await client.request("sessions.list", {"agent": "main"})
    keys = {s["key"] for s in listing["result"]["sessions"]}
    assert {"agent:main:a", "agent:main:b"} <= keys


@override_settings(OPENCLAW_GATEWAY_TOKEN="test-gateway-token")
async def test_wrong_token_is_closed_with_4401(running_runtime: None) -> None:
    communicator = WebsocketCommunicator(build_application(), "/ws/gateway/?token=nope")
    connected, _ = await communicator.connect()
    assert connected
    closed = await communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_aborting_a_queued_run_keeps_its_message_but_never_runs_it(
    client: ProtocolClient, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Hang(partial=["busy "]))
    first = (await client.request("chat.send", {"text": "first"}))["result"]["run"]
    queued = (await client.request("chat.send", {"text": "never mind"}))["result"]["run"]
    await client.until_event({"chat.delta"}, first)
    assert (await client.request("chat.abort", {"run": queued}))["result"]["aborted"] is True
    end = await client.until_event({"chat.final"}, queued)
    assert end["data"]["stop_reason"] == "aborted"
    await client.request("chat.abort", {"run": first})
    await client.until_event({"chat.final"}, first)
    history = await client.request("sessions.history", {"session": "agent:main:main"})
    skipped = [e for e in history["result"]["entries"] if e.get("meta", {}).get("skipped")]
    assert [e["content"] for e in skipped] == ["never mind"]
    fake_openai.script(Text("ok"))
    await client.chat("next")
    sent = [said(m["content"]) for m in fake_openai.requests[-1].body["messages"][1:]]
    assert "never mind" not in sent


async def test_a_socket_follows_only_its_most_recently_used_sessions(
    client: ProtocolClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived socket that talks in ever new sessions keeps a bounded set of session
    groups (the soak found one group per session ever used, held until the socket closed)."""
    from gateway import consumers
    from tests.wsclient import CommunicatorSocket

    monkeypatch.setattr(consumers, "MAX_SESSIONS_FOLLOWED", 3)
    first, _ = await client.chat("first", session="agent:main:s0")
    assert first["event"] == "chat.final"
    for n in (1, 2, 3):  # s0 is now the one used longest ago: dropped
        assert (await client.request("sessions.history", {"session": f"agent:main:s{n}"}))["ok"]

    other = WebsocketCommunicator(build_application(), "/ws/gateway/?token=test-gateway-token")
    assert (await other.connect())[0]
    try:
        writer = ProtocolClient(CommunicatorSocket(other))
        dropped = await writer.request("chat.send", {"text": "to s0", "session": "agent:main:s0"})
        kept = await writer.request("chat.send", {"text": "to s3", "session": "agent:main:s3"})
        await writer.until_event({"chat.final"}, dropped["result"]["run"])
        await writer.until_event({"chat.final"}, kept["result"]["run"])
        end = await client.until_event({"chat.final"}, kept["result"]["run"])
        assert end["data"]["text"] == "echo: to s3"
        runs = {e["data"].get("run") for e in client.events if e.get("type") == "event"}
        assert dropped["result"]["run"] not in runs
    finally:
        await other.disconnect()
