"""End to end: a real `manage.py gateway` process, a real WebSocket client, a fake model server."""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import Error, FakeOpenAI, Text, said
from tests.gateway_process import ROOT, base_env, free_port
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e


async def test_chat_streams_deltas_then_final_and_writes_transcript(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    # A model streaming word by word: each word read on its own goes out as its own delta; the
    # last one arrives with the end of the stream and goes out in the final (which holds all).
    fake_openai.script(Text("Hello there, friend.", chunk_delay=0.05))
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        end, deltas = await client.chat("hi")
    assert end["event"] == "chat.final"
    data = end["data"]
    assert data["session"] == "agent:main:main"
    assert data["text"] == "Hello there, friend."
    assert deltas and "".join(deltas) in ("Hello there, ", "Hello there, friend.")
    assert data["stop_reason"] == "stop"
    assert data["usage"]["completion_tokens"] > 0
    sent = fake_openai.requests[-1].body
    assert sent["model"] == "gpt-fake" and sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert "SOUL.md" in sent["messages"][0]["content"]
    assert sent["messages"][-1]["role"] == "user"
    assert said(sent["messages"][-1]["content"]) == "hi"
    transcripts = list((gateway.home / "sessions" / "main").glob("*.jsonl"))
    assert len(transcripts) == 1
    lines = [json.loads(line) for line in transcripts[0].read_text().splitlines()]
    assert [(e["type"], e.get("role")) for e in lines] == [
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert lines[1]["usage"]["total_tokens"] > 0 and lines[1]["run"] == data["run"]


async def test_transcript_and_session_survive_a_restart(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    first = gateway_factory()
    fake_openai.script(Text("My name is Claw."))
    async with first.connect() as ws:
        await ProtocolClient(ws).chat("what is your name?")
    assert first.terminate() == 0

    second = gateway_factory()
    async with second.connect() as ws:
        client = ProtocolClient(ws)
        history = await client.request("sessions.history", {"session": "agent:main:main"})
        listing = await client.request("sessions.list")
        end, _ = await client.chat("and again?")
    contents = [e["content"] for e in history["result"]["entries"]]
    assert contents == ["what is your name?", "My name is Claw."]
    [session] = listing["result"]["sessions"]
    assert session["key"] == "agent:main:main" and session["turns"] == 1
    assert session["tokens_in"] > 0 and session["title"] == "what is your name?"
    assert end["event"] == "chat.final"
    messages = fake_openai.requests[-1].body["messages"]
    assert [said(m["content"]) for m in messages[1:]] == [
        "what is your name?",
        "My name is Claw.",
        "and again?",
    ]


def test_second_gateway_on_the_same_home_is_refused(gateway_factory: GatewayFactory) -> None:
    first = gateway_factory()
    second = gateway_factory(start=False)
    started = time.monotonic()
    second.start(wait=False)
    assert second.proc is not None
    code = second.proc.wait(timeout=15)
    elapsed = time.monotonic() - started
    second.kill()
    out = second.output()
    assert code != 0
    assert elapsed < 5, f"refusal took {elapsed:.1f}s"
    assert f"pid {first.proc.pid if first.proc else '?'}" in out
    assert str(first.home / "gateway.lock") in out
    assert first.get("/healthz")[0] == 200


async def test_sigterm_with_a_turn_in_flight_drains_and_exits_zero(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    words = [f"w{i} " for i in range(12)]
    fake_openai.script(Text(words, chunk_delay=0.1))
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        res = await client.request("chat.send", {"text": "long answer please"})
        run = res["result"]["run"]
        await client.until_event({"chat.delta"}, run)
        assert gateway.proc is not None
        gateway.proc.terminate()
        end = await client.until_event({"chat.final", "chat.error"}, run)
    assert end["event"] == "chat.final"
    assert end["data"]["text"] == "".join(words)
    assert gateway.proc.wait(timeout=30) == 0
    assert "Gateway runtime stopped" in gateway.output()


async def test_unauthenticated_sockets_are_closed_with_4401(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory()
    for token in (None, "wrong-token"):
        async with gateway.connect(token=token) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_bearer_header_authenticates(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory()
    headers = {"Authorization": "Bearer e2e-test-token"}
    async with websockets.connect(gateway.ws_url(None), additional_headers=headers) as ws:
        res = await ProtocolClient(ws).request("health")
    assert res["result"]["status"] == "ok"


async def test_cross_origin_page_is_refused_at_handshake(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory()
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with gateway.connect(origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_unreachable_model_gives_an_error_naming_what_to_fix(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory(
        OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1", OPENCLAW_MODEL_MAX_RETRIES="0"
    )
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat("anyone there?")
    assert end["event"] == "chat.error"
    assert end["data"]["code"] == "model_unreachable"
    assert "OPENAI_BASE_URL" in end["data"]["message"]


async def test_without_a_model_the_error_says_what_to_configure(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory(OPENCLAW_MODEL="")
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat("hello")
    assert end["data"]["code"] == "model_not_configured"
    assert "OPENCLAW_MODEL" in end["data"]["message"]


async def test_model_error_status_reaches_the_client_and_the_lane_is_free(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(OPENCLAW_MODEL_MAX_RETRIES="0")
    fake_openai.script(Error.server_error(), Text("recovered"))
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        failed, _ = await client.chat("first")
        ok, _ = await client.chat("second")
    assert failed["event"] == "chat.error" and failed["data"]["code"] == "model_error"
    assert ok["data"]["text"] == "recovered"


def test_health_endpoints_and_web_chat_page(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory()
    assert gateway.get("/healthz") == (200, {"status": "alive"})
    status, body = gateway.get("/readyz")
    assert status == 200 and body["ready"] is True and body["database"] == "ok"
    assert body["runtime"] == "running"
    import urllib.request

    with urllib.request.urlopen(gateway.url + "/", timeout=2) as resp:
        page = resp.read().decode()
    assert "/ws/gateway/" in page and 'id="messages"' in page


def test_plain_daphne_refuses_and_names_the_command(tmp_path: Path) -> None:
    daphne = Path(sys.executable).parent / "daphne"
    proc = subprocess.run(
        [str(daphne), "-p", str(free_port()), "openclaw.asgi:application"],
        cwd=ROOT,
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "manage.py gateway" in proc.stderr


def test_gateway_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "manage.py", "gateway", "--port", str(free_port())],
        cwd=ROOT,
        env=base_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0
    assert "manage.py migrate" in proc.stderr


async def test_memory_edited_on_disk_reaches_the_next_prompt(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    _, body = gateway.get("/readyz")
    tasks = body["tasks"]
    assert isinstance(tasks, dict)
    assert tasks["memory-watch"]["state"] == "running"
    memory = gateway.home / "workspaces" / "main" / "MEMORY.md"
    memory.write_text("# MEMORY.md\n\nThe user's cat is called Miso.\n")
    async with gateway.connect() as ws:
        await ProtocolClient(ws).chat("what is my cat called?")
    system = fake_openai.requests[-1].body["messages"][0]["content"]
    assert "The user's cat is called Miso." in system
