"""The crash test: 100 turns in flight across web chat sockets and Telegram chats, the gateway
killed with SIGKILL mid-flight and started again. Every message is answered exactly once,
every transcript parses line by line, and memory files and rows agree.

`figures` lines in the output are what docs/reliability.md reports:
    .venv/bin/python -m pytest tests/reliability -m e2e -s -p no:cacheprovider
"""

import asyncio
from collections.abc import Iterator

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram
from tests.reliability import harness

pytestmark = pytest.mark.e2e

CHATS = [5001 + i for i in range(10)]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=harness.TELEGRAM_TOKEN) as server:
        yield server


def test_every_message_is_answered_exactly_once_after_a_sigkill(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI, telegram: FakeTelegram
) -> None:
    env = harness.gateway_env(telegram)
    harness.configure(gateway_factory.home, env, CHATS)
    pace = harness.Pace(chunk_delay=0.25)  # ~3 s an answer while the load goes in
    harness.slow_model(fake_openai, pace)
    load = harness.Load.build(web_sessions=10, chats=CHATS, per_conversation=5)
    assert len(load.messages) == 100
    home = gateway_factory.home

    first = gateway_factory(start=True, **env)
    asyncio.run(harness.send_web(first, load))  # every web message journaled (its `res` came)
    harness.push_telegram(telegram, load)
    harness.wait_until(lambda: harness.journal_count(home) == 100, "all 100 are journaled")
    # Mid-flight: some answers are out, many runs are streaming, most are still queued.
    harness.wait_until(lambda: harness.entries(home, "delivered") >= 10, "10 answers are out")
    assert first.proc is not None
    first.proc.kill()
    first.proc.wait(timeout=10)
    open_at_kill = harness.entries(home, "accepted")
    assert 0 < open_at_kill < 100

    pace.chunk_delay = 0.01
    second = gateway_factory(start=True, **env)
    harness.wait_until(lambda: harness.entries(home, "accepted") == 0, "all are answered")
    again = asyncio.run(harness.resend_web(second, load))
    assert {r["queued"] for r in again} == {"duplicate"}  # a retry with its key runs nothing
    turns = harness.model_turns(fake_openai)

    found = harness.read_transcripts(home)
    figures = harness.exactly_once(found, telegram, load)
    notes = harness.memory_notes(home)
    print(
        f"figures crash: turns=100 kills=1 open_at_kill={open_at_kill} {figures.line()} "
        f"model_calls={turns} memory_notes={len(notes)} distinct_notes={len(set(notes))}"
    )
    assert found.bad_lines == []
    assert figures.lost == []
    assert figures.duplicated == []
    assert figures.telegram_mismatch == []
    assert harness.memory_disagreements(home) == []
    history = asyncio.run(harness.history_answers(second, load))
    for session, texts in load.web.items():
        answered = [
            t for t in texts if any(a.startswith(f"answer to {t}:") for a in history[session])
        ]
        assert answered == texts, session
    assert harness.model_turns(fake_openai) == turns  # the resends started no run
