"""`manage.py chat` interactively against a real gateway and the fake model: streamed answers,
the chat commands, and Ctrl-C stopping an answer without leaving the chat."""

import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.gateway_process import ROOT, TOKEN, Gateway, base_env

pytestmark = pytest.mark.e2e


def chat(gateway: Gateway) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "chat", "--url", gateway.ws_url(None)],
        cwd=ROOT,
        env=base_env(gateway.home, OPENCLAW_GATEWAY_TOKEN=TOKEN),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_chat_commands_and_answers_in_an_interactive_session(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory()
    lines = "/help\nhello there\n/status\n/model\n/new\n"
    proc = chat(gateway)
    out, err = proc.communicate(lines, timeout=60)
    assert proc.returncode == 0, err
    assert "Commands: /new or /reset" in out
    assert "echo: hello there" in out
    assert "Session agent:main:main: 1 turns" in out
    assert "This session uses gpt-fake." in out
    assert "Started a new session." in out
    assert out.index("Commands:") < out.index("echo: hello there") < out.index("Started a new")


def test_ctrl_c_stops_the_answer_and_the_chat_goes_on(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory()
    fake_openai.script(Text([f"w{i} " for i in range(200)], chunk_delay=0.05))
    proc = chat(gateway)
    assert proc.stdin is not None and proc.stdout is not None
    seen: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout

    def read_output() -> None:  # character by character: the answer streams without newlines
        while ch := stdout.read(1):
            seen.put(ch)

    threading.Thread(target=read_output, daemon=True).start()
    proc.stdin.write("count for me\n")
    proc.stdin.flush()
    text = ""
    deadline = time.monotonic() + 30
    while "w3 " not in text:  # the answer is streaming
        text += seen.get(timeout=max(deadline - time.monotonic(), 0.1))
    proc.send_signal(signal.SIGINT)
    while "[aborted]" not in text:
        text += seen.get(timeout=max(deadline - time.monotonic(), 0.1))
    assert "w199" not in text
    proc.stdin.write("still there?\n")
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    while "echo: still there?" not in text:  # the next message is answered as usual
        text += seen.get(timeout=max(deadline - time.monotonic(), 0.1))
    assert "echo: still there?" in text
