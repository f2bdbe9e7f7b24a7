"""The gateway never depends on Celery: with the broker down it answers as before, stays ready,
shows the broker as unreachable in /readyz and logs that once, however often it checks."""

import asyncio
import time
from typing import Any

import pytest

from openclaw.celery import BrokerWatch, check_broker
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.gateway_process import free_port
from tests.wsclient import ProtocolClient

pytestmark = [pytest.mark.e2e, pytest.mark.services]

DOWN_WARNING = "Celery broker unreachable"


def _broker(status: dict[str, Any]) -> dict[str, Any]:
    broker = status["broker"]
    assert isinstance(broker, dict)
    return broker


async def test_gateway_answers_with_the_broker_down_and_logs_it_once(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    gateway = gateway_factory(CELERY_BROKER_URL=closed, OPENCLAW_BROKER_CHECK_SECONDS="0.2")
    fake_openai.script(Text("First answer."), Text("Second answer."))
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        first, _ = await client.chat("hello")
        second, _ = await client.chat("again")
    assert first["event"] == second["event"] == "chat.final"
    assert (first["data"]["text"], second["data"]["text"]) == ("First answer.", "Second answer.")
    # Let the watcher check several times, so "once" means once per outage, not per check.
    deadline = time.monotonic() + 30
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        code, status = await asyncio.to_thread(gateway.get, "/readyz")
        if _broker(status)["checks"] >= 4:
            break
        await asyncio.sleep(0.2)
    assert code == 200 and status["ready"] is True
    broker = _broker(status)
    assert broker["checks"] >= 4 and broker["state"] == "unreachable"
    assert "Connection refused" in broker["error"]
    assert gateway.output().count(DOWN_WARNING) == 1


def test_check_broker_names_the_reason_and_hides_the_password() -> None:
    port = free_port()
    reason = check_broker(2.0, f"redis://:s3cret@127.0.0.1:{port}/0")
    assert reason is not None and f"127.0.0.1:{port}" in reason and "s3cret" not in reason
    assert "\n" not in reason


def test_check_broker_accepts_the_filesystem_broker() -> None:
    assert check_broker(2.0, "openclawfs://") is None


def test_watch_logs_transitions_only(caplog: pytest.LogCaptureFixture) -> None:
    watch = BrokerWatch()
    for reason in ("refused", "refused", None, None, "refused"):
        watch.record(reason)
    messages = [r.getMessage() for r in caplog.records]
    assert sum(DOWN_WARNING in m for m in messages) == 2
    assert sum("reachable again" in m for m in messages) == 1
    assert watch.report() == {"state": "unreachable", "error": "refused", "checks": 5}
