"""`manage.py chat` and `manage.py status` as subprocesses against a real gateway."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GatewayFactory
from tests.gateway_process import ROOT, TOKEN, base_env, free_port

pytestmark = pytest.mark.e2e


def manage(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base_env(home, **{"OPENCLAW_GATEWAY_TOKEN": TOKEN, **env}),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_chat_message_prints_the_answer_and_status_lists_its_session(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory()
    url = f"ws://127.0.0.1:{gateway.port}/ws/gateway/"

    chat = manage(gateway.home, "chat", "--url", url, "--message", "hi there")

    assert chat.returncode == 0, chat.stderr
    assert "echo: hi there" in chat.stdout

    status = manage(gateway.home, "status", "--json", OPENCLAW_PORT=str(gateway.port))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert "agent:main:main" in [s["key"] for s in report["recent_sessions"]]
    assert report["sessions_active_today"] >= 1
    assert report["usage_today"]["turns"] >= 1
    assert report["gateway"]["runtime"] == "running"

    wrong = manage(
        gateway.home, "chat", "--url", url, "--message", "hi", OPENCLAW_GATEWAY_TOKEN="x"
    )
    assert wrong.returncode != 0
    assert "token refused" in wrong.stderr


def test_chat_without_a_gateway_names_the_url_and_hints(gateway_factory: GatewayFactory) -> None:
    url = f"ws://127.0.0.1:{free_port()}/ws/gateway/"

    chat = manage(gateway_factory.home, "chat", "--url", url, "--message", "hi")

    assert chat.returncode != 0
    assert url in chat.stderr
    assert "is the gateway running? (manage.py gateway)" in chat.stderr


def test_status_without_a_gateway_says_it_is_not_running(gateway_factory: GatewayFactory) -> None:
    status = manage(gateway_factory.home, "status", OPENCLAW_PORT=str(free_port()))

    assert status.returncode == 0, status.stderr
    assert "Gateway: not running" in status.stdout
    assert "Sessions active today: 0" in status.stdout


@pytest.mark.parametrize(
    "deltas",
    [
        [],  # the answer arrived at once: in the final only
        ["echo: "],  # the tail came with the end of the stream
        ["echo: ", "hi ", "there"],  # all of it streamed
    ],
)
def test_chat_prints_each_answer_once_however_it_was_split(deltas: list[str]) -> None:
    import io

    from gateway.operator.cli import ChatClient

    out, err = io.StringIO(), io.StringIO()
    client = ChatClient("ws://unused", TOKEN, out, err)
    client._run = "r1"  # the run `exchange` would have sent
    for text in deltas:
        client._show({"event": "chat.delta", "data": {"run": "r1", "text": text}})
    final = {"run": "r1", "text": "echo: hi there", "stop_reason": "stop"}
    assert client._show({"event": "chat.final", "data": final}) is True
    assert out.getvalue() == "echo: hi there\n" and err.getvalue() == ""
