"""Graceful stop under load: SIGTERM with 50 turns in flight. Runs that finish within the drain
deadline are answered before exit; the others (cut mid-stream, or still queued) stay in the
journal, their sockets hear `chat.error` code `restarting`, and the next start answers each of
them once. Figures: see test_crash.py."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway
from tests.reliability import harness

pytestmark = pytest.mark.e2e

CHATS = [6001 + i for i in range(5)]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=harness.TELEGRAM_TOKEN) as server:
        yield server


async def send_and_listen_through_sigterm(
    gateway: Gateway, load: harness.Load, ready: "asyncio.Future[None]"
) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]], set[int]]:
    """Each session's socket sends its messages and stays open through the shutdown; returns
    text → run, run → its terminal events, and the close codes."""
    runs: dict[str, str] = {}
    ends: dict[str, list[dict[str, Any]]] = {}
    codes: set[int] = set()

    async def one_session(session: str, texts: list[str]) -> None:
        async with gateway.connect() as ws:
            for n, text in enumerate(texts):
                params = {"text": text, "session": session, "idempotencyKey": harness.key_of(text)}
                await ws.send(
                    json.dumps(
                        {"type": "req", "id": str(n), "method": "chat.send", "params": params}
                    )
                )
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "res":
                        assert frame["ok"], frame
                        runs[texts[int(frame["id"])]] = frame["result"]["run"]
                    elif frame["event"] in ("chat.final", "chat.error"):
                        ends.setdefault(frame["data"]["run"], []).append(frame)
            except ConnectionClosed:
                pass
            codes.add(ws.close_code or 0)

    listening = asyncio.gather(*(one_session(s, ts) for s, ts in load.web.items()))
    await ready
    await listening
    return runs, ends, codes


def test_sigterm_with_50_turns_in_flight_drains_or_journals_each_and_the_next_start_completes_them(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, telegram: FakeTelegram
) -> None:
    env = harness.gateway_env(telegram, OPENCLAW_DRAIN_SECONDS="2")
    harness.configure(gateway_factory.home, env, CHATS)
    pace = harness.Pace(chunk_delay=0.25)
    harness.slow_model(fake_openai, pace)
    load = harness.Load.build(web_sessions=5, chats=CHATS, per_conversation=5)
    assert len(load.messages) == 50
    home = gateway_factory.home
    first = gateway_factory(start=True, **env)

    async def scenario() -> tuple[dict[str, str], dict[str, list[dict[str, Any]]], set[int], int]:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        listening = asyncio.create_task(send_and_listen_through_sigterm(first, load, ready))
        harness.push_telegram(telegram, load)
        await asyncio.to_thread(
            harness.wait_until, lambda: harness.journal_count(home) == 50, "all 50 journaled"
        )
        await asyncio.to_thread(
            harness.wait_until, lambda: harness.entries(home, "delivered") >= 5, "5 answers out"
        )
        code = await asyncio.to_thread(first.terminate, 60)
        ready.set_result(None)
        runs, ends, codes = await listening
        return runs, ends, codes, code

    runs, ends, close_codes, exit_code = asyncio.run(scenario())
    assert exit_code == 0, first.output()[-3000:]
    assert close_codes == {4012}  # "service restart": reconnect later
    answered_before_exit = harness.entries(home, "delivered")
    carried = harness.entries(home, "accepted")
    assert carried > 0 and answered_before_exit >= 5
    # Each web run ended on its socket: answered, or told it is kept for after the restart.
    for run in set(runs.values()):
        [end] = ends[run]
        data = end["data"]
        assert (end["event"], data.get("stop_reason", data.get("code"))) in {
            ("chat.final", "stop"),
            ("chat.error", "restarting"),
        }, end

    pace.chunk_delay = 0.01
    gateway_factory(start=True, **env)
    harness.wait_until(lambda: harness.entries(home, "accepted") == 0, "all are answered")
    found = harness.read_transcripts(home)
    figures = harness.exactly_once(found, telegram, load)
    print(
        f"figures sigterm: turns=50 answered_before_exit={answered_before_exit} "
        f"carried_to_next_start={carried} runs_cut={found.aborted} {figures.line()}"
    )
    assert found.bad_lines == []
    assert figures.lost == []
    assert figures.duplicated == []
    assert figures.telegram_mismatch == []
    assert harness.memory_disagreements(home) == []
