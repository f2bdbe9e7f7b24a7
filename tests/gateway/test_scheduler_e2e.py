"""End to end: reminders made with the cron tool in a real `manage.py gateway` process, run by
its scheduler task and answered by the fake model: on the web chat socket, in a Telegram chat
(through the fake Bot API), and once, not once per missed tick, after the gateway was down."""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, ToolCall, ToolCalls, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import manage
from tests.platforms.test_telegram_e2e import configure
from tests.wsclient import ProtocolClient

pytestmark = pytest.mark.e2e
MAIN = "agent:main:main"
FAST = {"OPENCLAW_SCHEDULER_POLL_SECONDS": "0.2"}


def cron(**args: Any) -> ToolCalls:
    return ToolCalls(ToolCall("cron", json.dumps(args)))


def asked(fake: FakeOpenAI, text: str) -> int:
    """Model requests whose newest user message is `text`."""
    return sum(user_texts(r.body)[-1:] == [text] for r in fake.requests)


def answers(home: Path, agent: str = "main") -> list[str]:
    """Assistant answers in the agent's transcripts."""
    found = []
    for path in sorted((home / "sessions" / agent).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("role") == "assistant" and entry.get("content"):
                found.append(entry["content"])
    return found


def eventually(condition: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def reminder_jobs(home: Path) -> list[dict[str, Any]]:
    code = (
        "import json\nfrom agents.models import ScheduledJob\n"
        "rows = ScheduledJob.objects.filter(purpose='reminder').values("
        "'run_count', 'last_status', 'next_run_at', 'enabled')\n"
        "print(json.dumps(list(rows), default=str))\n"
    )
    output = manage(home, {}, "shell", "-c", code)
    rows: list[dict[str, Any]] = json.loads(output.strip().splitlines()[-1])
    return rows


async def test_a_reminder_made_in_web_chat_arrives_on_the_socket(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(start=True, **FAST)
    fake_openai.script(
        cron(action="create", kind="at", schedule="+2s", text="Stretch your legs"),
        Text("I will remind you."),
        Text("Time to stretch!"),
    )
    async with gateway.connect() as ws:
        client = ProtocolClient(ws)
        end, _ = await client.chat("remind me in two seconds to stretch")
        assert end["data"]["text"] == "I will remind you."
        reminder = await client.until_event({"chat.final"})
    assert reminder["data"]["text"] == "Time to stretch!"
    assert reminder["data"]["session"] == MAIN and reminder["data"]["run"] != end["data"]["run"]
    assert asked(fake_openai, "[Scheduled reminder] Stretch your legs") == 1
    assert reminder_jobs(gateway.home) == []  # a one-shot is deleted once it ran


async def test_a_reminder_due_while_the_gateway_was_stopped_fires_once_after_restart(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    first = gateway_factory(start=True, **FAST)
    fake_openai.script(
        cron(action="create", kind="every", schedule="1h", text="Water the plants"),
        Text("Every hour, then."),
    )
    async with first.connect() as ws:
        await ProtocolClient(ws).chat("remind me every hour to water the plants")
    assert first.terminate() == 0
    # Five hours and a half pass while the gateway is down: five ticks missed.
    code = (
        "from datetime import timedelta\nfrom django.utils import timezone\n"
        "from agents.models import ScheduledJob\n"
        "ScheduledJob.objects.update(next_run_at=timezone.now() - timedelta(hours=5.5))\n"
    )
    manage(first.home, {}, "shell", "-c", code)

    fake_openai.script(Text("Water the plants now."))
    second = gateway_factory(start=True, **FAST)
    eventually(lambda: "Water the plants now." in answers(second.home))
    async with second.connect() as ws:  # one more turn: the scheduler had every chance
        end, _ = await ProtocolClient(ws).chat("thanks")
    assert end["data"]["text"] == "echo: thanks"
    assert asked(fake_openai, "[Scheduled reminder] Water the plants") == 1
    assert answers(second.home).count("Water the plants now.") == 1
    [job] = reminder_jobs(second.home)
    assert job["run_count"] == 1 and job["last_status"] == "ok" and job["enabled"]
    assert job["next_run_at"] > time.strftime("%Y-%m-%d %H:%M", time.gmtime())


def test_a_reminder_made_in_a_telegram_chat_is_delivered_there(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    token, chat = "123:fake", 1003  # 1003 is let in by `configure`
    with FakeTelegram(token=token) as telegram:
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": telegram.url,
            "TELEGRAM_POLL_TIMEOUT": "1",
            **FAST,
        }
        configure(gateway_factory.home, env)
        gateway_factory(start=True, **env)
        fake_openai.script(
            cron(action="create", kind="at", schedule="+2s", text="Drink water"),
            Text("Okay, in two seconds."),
            Text("Drink some water!"),
        )
        telegram.push_update(telegram.text(chat, "remind me to drink water in 2 seconds"))
        expected = ["Okay, in two seconds.", "Drink some water!"]
        telegram.wait_for(lambda: [m.text for m in telegram.messages(chat)] == expected, 20)
    assert asked(fake_openai, "[Scheduled reminder] Drink water") == 1
