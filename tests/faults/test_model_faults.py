"""Model faults through a real gateway process, from the fake model server: 429 (with
Retry-After, once and past the retries), 500, a model that never answers, a garbage SSE line,
the connection reset mid stream. For each: the user gets an answer or a clear error, the
session's lane answers its next message, the message stays in the transcript and its journal
entry is closed, and the gateway keeps running."""

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agents.transcripts import read_entries
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import CutStream, Error, FakeOpenAI, Garbage, Hang, Reply, Text
from tests.gateway_process import Gateway
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e

RETRIES = 1  # OPENCLAW_MODEL_MAX_RETRIES: a fault repeated RETRIES + 1 times is past them


@dataclass(frozen=True)
class Fault:
    name: str
    replies: tuple[Reply, ...]
    event: str  # chat.final or chat.error
    code: str = ""  # chat.error's code
    says: str = ""  # in chat.error's message, or chat.final's text


FAULTS = [
    Fault("429 once", (Error.rate_limit(retry_after=0.2),), "chat.final", says="echo: "),
    Fault(
        "429 past the retries",
        (Error.rate_limit(retry_after=0.1),) * (RETRIES + 1),
        "chat.error",
        "rate_limited",
        "answered HTTP 429: Rate limit reached",  # the provider's own words, then our fix
    ),
    Fault("500", (Error.server_error(),) * (RETRIES + 1), "chat.error", "model_error", "HTTP 500"),
    Fault("timeout once", (Hang(),), "chat.final", says="echo: "),
    Fault("timeout past the retries", (Hang(),) * (RETRIES + 1), "chat.error", "timeout"),
    Fault("timeout mid stream", (Hang(partial="half an "),), "chat.error", "timeout"),
    Fault("garbage SSE", (Garbage("{not json"),), "chat.error", "model_error"),
    Fault("reset mid stream", (CutStream("cut short here", after_chunks=2),), "chat.error"),
]


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path, tmp_path_factory: pytest.TempPathFactory, model: FakeOpenAI
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("model-faults"), model)
    try:
        yield factory(
            OPENCLAW_MODEL_MAX_RETRIES=str(RETRIES),
            OPENCLAW_MODEL_TIMEOUT="2",
            OPENCLAW_STREAM_IDLE_TIMEOUT="1",
        )
    finally:
        factory.close()


async def chat(gateway: Gateway, text: str, session: str) -> dict[str, Any]:
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat(text, session=session)
        return end


def open_entries(gateway: Gateway, session: str) -> list[tuple[str, str]]:
    """Journal entries of the session not closed yet (a restart would run them again)."""
    with sqlite3.connect(gateway.home / "openclaw.sqlite3", timeout=20) as db:
        rows = db.execute(
            "SELECT text, status FROM gateway_inboundrecord WHERE session_key = ? AND status = ?",
            (session, "accepted"),
        ).fetchall()
    return [(str(text), str(status)) for text, status in rows]


def said(gateway: Gateway, session: str) -> list[str]:
    """The messages in the session's transcript (found through its row, as the gateway does)."""
    with sqlite3.connect(gateway.home / "openclaw.sqlite3", timeout=20) as db:
        rows = db.execute(
            "SELECT transcript_path FROM agents_session WHERE key = ?", (session,)
        ).fetchall()
    texts: list[str] = []
    for (relative,) in rows:
        entries = read_entries(gateway.home / str(relative))
        texts += [str(e.get("content")) for e in entries if e["type"] == "message"]
    return texts


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_a_model_fault_gives_an_answer_or_a_clear_error_and_loses_nothing(
    gateway: Gateway, model: FakeOpenAI, fault: Fault
) -> None:
    session = "agent:main:fault-" + fault.name.replace(" ", "-")
    model.script(*fault.replies)
    end = await asyncio.wait_for(chat(gateway, f"before {fault.name}", session), 60)
    assert end["event"] == fault.event, end
    if fault.event == "chat.error":
        message = end["data"]["message"]
        assert message and "Traceback" not in message, end
        assert not fault.code or end["data"]["code"] == fault.code, end
        assert fault.says in message, end
    else:
        assert end["data"]["text"].startswith(fault.says), end
    assert model.pending == 0, "the gateway asked the model fewer times than scripted"

    end = await asyncio.wait_for(chat(gateway, f"after {fault.name}", session), 60)
    assert end["event"] == "chat.final", end  # the lane is free
    assert end["data"]["text"] == f"echo: after {fault.name}"

    assert f"before {fault.name}" in said(gateway, session)  # the message was kept
    assert f"after {fault.name}" in said(gateway, session)
    # Nothing left for a restart to run twice: entries close in the turn's last database
    # call, just after `chat.final` went out (a restart in between finds the answer in the
    # transcript and only closes them).
    for _ in range(100):
        if not open_entries(gateway, session):
            break
        await asyncio.sleep(0.05)
    assert open_entries(gateway, session) == []
    assert gateway.proc is not None and gateway.proc.poll() is None, gateway.output()
    assert gateway.get("/readyz")[0] == 200


def test_after_every_fault_the_gateway_still_answers_a_new_session(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    model.script(Text("still here"))
    end = asyncio.run(chat(gateway, "hello", "agent:main:after-the-faults"))
    assert end["event"] == "chat.final" and end["data"]["text"] == "still here"
