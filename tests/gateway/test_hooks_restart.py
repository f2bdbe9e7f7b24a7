"""End to end: hooks across a crash. A real gateway is killed (SIGKILL) at the worst moment and
started again on the same home; the fake model answers and the fake Telegram Bot API receives
the deliveries. What a hook was promised is kept in the journal, so a restart still delivers it,
once."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Hang, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway, manage

pytestmark = pytest.mark.e2e

HOOKS_TOKEN = "hooks-restart-token"
BOT_TOKEN = "321:fake"
ACCOUNT = "from gateway.platforms import ensure_default_accounts\nensure_default_accounts()\n"


@dataclass
class Rig:
    factory: GatewayFactory
    env: dict[str, str]
    model: FakeOpenAI
    telegram: FakeTelegram

    def start(self) -> Gateway:
        return self.factory(start=True, **self.env)


@pytest.fixture
def rig(migrated_home: Path, tmp_path: Path) -> Iterator[Rig]:
    with FakeOpenAI() as model, FakeTelegram(token=BOT_TOKEN) as telegram:
        factory = GatewayFactory(migrated_home, tmp_path, model)
        env = {
            "OPENCLAW_HOOKS_TOKEN": HOOKS_TOKEN,
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "TELEGRAM_POLL_TIMEOUT": "1",
        }
        manage(factory.home, env, "shell", "-c", ACCOUNT)
        try:
            yield Rig(factory, env, model, telegram)
        finally:
            factory.close()


def hook(gateway: Gateway, path: str, body: object, key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        gateway.url + path,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {HOOKS_TOKEN}",
            "Idempotency-Key": key,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def asked(model: FakeOpenAI, text: str) -> int:
    """How many model requests had `text` as their newest user message."""
    return sum(1 for r in model.requests if user_texts(r.body)[-1:] == [text])


def texts(telegram: FakeTelegram, chat: int) -> list[str]:
    return [m.text for m in telegram.messages(chat)]


def deliver(text: str, chat: int) -> dict[str, object]:
    return {"message": text, "name": "CI", "deliver": True, "channel": "telegram", "to": str(chat)}


def test_an_answer_cut_while_being_sent_is_delivered_once_after_a_restart(rig: Rig) -> None:
    gateway = rig.start()
    rig.telegram.hold("sendMessage")  # the delivery reaches Telegram and is never answered
    status, sent = hook(gateway, "/hooks/agent", deliver("build 12 failed", 9001), "ci-12")
    assert status == 200 and not sent["duplicate"]
    rig.telegram.wait_for(lambda: rig.telegram.holding("sendMessage") == 0)
    gateway.kill()
    assert texts(rig.telegram, 9001) == []

    gateway = rig.start()
    rig.telegram.wait_for(lambda: texts(rig.telegram, 9001) == ["echo: build 12 failed"])
    assert asked(rig.model, "build 12 failed") == 1  # the answer came from the transcript
    # The caller retries after the restart: nothing runs, nothing is sent again.
    status, again = hook(gateway, "/hooks/agent", deliver("build 12 failed", 9001), "ci-12")
    assert status == 200 and again["duplicate"] and again["run"] == sent["run"]
    time.sleep(1.0)
    assert texts(rig.telegram, 9001) == ["echo: build 12 failed"]
    assert asked(rig.model, "build 12 failed") == 1

    gateway.kill()  # and a third start finds nothing left to deliver
    gateway = rig.start()
    time.sleep(1.5)
    assert texts(rig.telegram, 9001) == ["echo: build 12 failed"]


def test_a_turn_cut_by_a_crash_runs_again_and_is_delivered_once(rig: Rig) -> None:
    gateway = rig.start()
    rig.model.script(Hang())  # the turn never ends: the gateway dies during it
    status, _ = hook(gateway, "/hooks/agent", deliver("deploy 7 done", 9002), "deploy-7")
    assert status == 200
    rig.model.wait_for_requests(1, timeout=10)
    gateway.kill()

    gateway = rig.start()
    rig.telegram.wait_for(lambda: texts(rig.telegram, 9002) == ["echo: deploy 7 done"])
    assert asked(rig.model, "deploy 7 done") == 2  # the cut turn, then its run at the start
    # The run again keeps the hook's origin: its text is never the owner's own words.
    assert "from hook: CI" in json.dumps(rig.model.requests[-1].body)
    status, again = hook(gateway, "/hooks/agent", deliver("deploy 7 done", 9002), "deploy-7")
    assert status == 200 and again["duplicate"]
    time.sleep(1.0)
    assert texts(rig.telegram, 9002) == ["echo: deploy 7 done"]
    assert asked(rig.model, "deploy 7 done") == 2


def heartbeat_in(seconds: int) -> str:
    """Shell code: the main agent's heartbeat on, next due in `seconds`, then hourly."""
    return (
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from agents.models import Agent, ScheduledJob\n"
        "from agents.scheduled_jobs import sync_heartbeats\n"
        "Agent.objects.filter(slug='main').update(heartbeat_enabled=True, heartbeat_minutes=60)\n"
        "sync_heartbeats()\n"
        "ScheduledJob.objects.filter(purpose='heartbeat').update("
        f"next_run_at=timezone.now() + timedelta(seconds={seconds}))\n"
    )


def wake(text: str) -> dict[str, str]:
    return {"text": text, "mode": "next-heartbeat"}


def test_a_wake_event_held_for_the_heartbeat_survives_a_restart(rig: Rig) -> None:
    manage(rig.factory.home, rig.env, "shell", "-c", heartbeat_in(25))
    gateway = rig.start()
    status, held = hook(gateway, "/hooks/wake", wake("the backup finished"), "backup-1")
    assert status == 200 and not held["duplicate"]
    due = datetime.fromisoformat(held["due"])
    gateway.kill()

    gateway = rig.start()
    status, again = hook(gateway, "/hooks/wake", wake("the backup finished"), "backup-1")
    assert status == 200 and again["duplicate"]  # still held: the retry adds nothing
    assert datetime.now(UTC) < due and asked(rig.model, "the backup finished") == 0
    deadline = time.monotonic() + 60
    while not asked(rig.model, "the backup finished"):
        assert time.monotonic() < deadline, "the held event was never answered"
        time.sleep(0.1)
    assert datetime.now(UTC) >= due  # at the heartbeat's time, not at the start
    [request] = [r for r in rig.model.requests if "the backup finished" in json.dumps(r.body)]
    assert "from hook: wake" in json.dumps(request.body)
    time.sleep(1.0)
    assert asked(rig.model, "the backup finished") == 1

    gateway.kill()  # answered: a later start runs it no more
    rig.start()
    time.sleep(1.5)
    assert asked(rig.model, "the backup finished") == 1


def test_a_wake_event_whose_heartbeat_passed_while_down_is_answered_at_start(rig: Rig) -> None:
    owner = 555  # the owner's Telegram chat: mapped to the main session
    setup = "from gateway.models import ChannelAccount\n"
    setup += f"ChannelAccount.objects.filter(channel='telegram').update(owner_ids=['{owner}'])\n"
    manage(rig.factory.home, rig.env, "shell", "-c", setup + heartbeat_in(6))
    gateway = rig.start()
    rig.telegram.push_update(rig.telegram.text(owner, "hello"))
    rig.telegram.wait_for(lambda: texts(rig.telegram, owner) == ["echo: hello"])
    status, held = hook(gateway, "/hooks/wake", wake("disk almost full"), "disk-1")
    assert status == 200
    gateway.kill()
    while datetime.now(UTC) < datetime.fromisoformat(held["due"]):
        time.sleep(0.2)
    assert asked(rig.model, "disk almost full") == 0

    rig.start()
    # Answered at the start, in the main session, and so in the owner's chat as well.
    answer = "echo: disk almost full"
    rig.telegram.wait_for(lambda: answer in texts(rig.telegram, owner), timeout=30)
    time.sleep(1.0)
    assert asked(rig.model, "disk almost full") == 1
    assert texts(rig.telegram, owner).count(answer) == 1
