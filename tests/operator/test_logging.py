"""Structured logs: records carry the run and session of the turn they come from, as text or
as JSON lines, with secrets still masked."""

import asyncio
import json
import logging

import pytest

from openclaw.logging import ContextFilter, LogFormatter, log_context
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import Error, FakeOpenAI
from tests.wsclient import ProtocolClient


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    made = logging.LogRecord("gateway.runs", logging.WARNING, __file__, 1, message, args, exc_info)
    ContextFilter().filter(made)
    return made


def test_text_lines_name_run_and_session_only_inside_a_turn() -> None:
    outside = LogFormatter().format(record("idle"))
    assert outside.endswith("WARNING gateway.runs: idle")
    with log_context("run123", "agent:main:main"):
        inside = LogFormatter().format(record("Run %s failed", "run123", exc=True))
    first_line = inside.splitlines()[0]
    assert first_line.endswith(
        "gateway.runs: Run run123 failed [run=run123 session=agent:main:main]"
    )
    assert "ValueError: boom" in inside


def test_json_lines_carry_ids_and_the_traceback() -> None:
    with log_context("r1", "agent:main:telegram:dm:42"):
        line = LogFormatter(as_json=True).format(record("turn %s", "ended", exc=True))
    parsed = json.loads(line)
    assert parsed["message"] == "turn ended" and parsed["level"] == "WARNING"
    assert parsed["run_id"] == "r1" and parsed["session"] == "agent:main:telegram:dm:42"
    assert parsed["logger"] == "gateway.runs" and "ValueError: boom" in parsed["exc"]
    assert "\n" not in line
    assert "run_id" not in json.loads(LogFormatter(as_json=True).format(record("idle")))


async def test_context_follows_the_turn_into_tasks_and_threads() -> None:
    seen: list[tuple[str, str]] = []

    def in_thread() -> None:
        made = record("x")
        seen.append((made.run_id, made.session))  # type: ignore[attr-defined]

    async def in_task() -> None:
        await asyncio.to_thread(in_thread)

    with log_context("r2", "s2"):
        await asyncio.create_task(in_task())
    in_thread()
    assert seen == [("r2", "s2"), ("", "")]


@pytest.mark.e2e
async def test_gateway_writes_json_logs_with_the_run_of_a_failed_turn(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(OPENCLAW_LOG_FORMAT="json", OPENAI_API_KEY="sk-secret-value-12345")
    fake_openai.script(Error(401, "Incorrect API key provided", "invalid_request_error"))
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat("hi")
    assert end["event"] == "chat.error"
    assert gateway.terminate() == 0
    lines = [json.loads(line) for line in gateway.output().splitlines() if line.startswith("{")]
    failed = [line for line in lines if line.get("run_id") == end["data"]["run"]]
    assert failed, gateway.output()
    assert all(line["session"] == "agent:main:main" for line in failed)
    assert any("failed" in line["message"] for line in failed)
    assert "sk-secret-value-12345" not in gateway.output()


@pytest.mark.e2e
async def test_every_turn_logs_one_line_with_its_run_session_outcome_and_tokens(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(OPENCLAW_LOG_FORMAT="json")
    async with gateway.connect() as ws:
        end, _ = await ProtocolClient(ws).chat("hi")
    assert end["event"] == "chat.final"
    assert gateway.terminate() == 0
    lines = [json.loads(line) for line in gateway.output().splitlines() if line.startswith("{")]
    turns = [line for line in lines if line["message"].startswith("Turn ended")]
    assert len(turns) == 1, gateway.output()
    (turn,) = turns
    assert turn["level"] == "INFO" and turn["logger"] == "gateway.metrics"
    assert turn["run_id"] == end["data"]["run"] and turn["session"] == "agent:main:main"
    assert turn["message"].startswith("Turn ended (stop) on web with ")
    assert "tokens in " in turn["message"]
