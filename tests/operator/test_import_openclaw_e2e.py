"""End to end: `manage.py import-openclaw` on the hand-written OpenClaw directory, then a real
gateway answers with what was imported. The web chat's main session continues the imported
transcript (history and MEMORY.md reach the model); the imported Telegram account polls the
fake Bot API with the imported token read from the secrets file, answers its allowlisted
senders, routes the bound peer to the other imported agent and its model, and ignores
strangers."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import ROOT, TOKEN, Gateway, base_env, manage

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "openclaw_home"
IMPORTED_TOKEN = "700100:fixture-token-not-a-real-one"  # the fixture's fake token


def chat(gateway: Gateway, text: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "chat", "--url", gateway.ws_url(None), "--message", text],
        cwd=ROOT,
        env=base_env(gateway.home, OPENCLAW_GATEWAY_TOKEN=TOKEN),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


HISTORY = [
    "When is high water at Bergen tomorrow? My mooring line is the orange one.",
    "Thanks. Remind me which pontoon I am on?",
]


def texts(telegram: FakeTelegram, chat: int) -> list[str]:
    """What the bot wrote in `chat`, each message as it reads now (answers stream by edits)."""
    return [m.text for m in telegram.messages(chat)]


def asked(model: FakeOpenAI, text: str) -> dict[str, Any]:
    """The model request whose newest user message is `text`."""
    found = [r.body for r in model.requests if user_texts(r.body)[-1:] == [text]]
    assert len(found) == 1, [user_texts(r.body)[-1:] for r in model.requests]
    return found[0]


def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = body["messages"]
    assert isinstance(found, list)
    return found


def system_prompt(body: dict[str, Any]) -> str:
    return str(messages(body)[0]["content"])


def test_the_imported_agent_answers_with_the_imported_history_and_memory(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    home = gateway_factory.home
    out = manage(home, {}, "import-openclaw", str(FIXTURE))
    assert "9 changed" in out, out
    with FakeTelegram(token=IMPORTED_TOKEN) as telegram:
        gateway = gateway_factory(
            OPENCLAW_SECRETS_FILE=str(home / "secrets.env"),
            TELEGRAM_API_URL=telegram.url,
            TELEGRAM_POLL_TIMEOUT="1",
            GEMINI_BASE_URL=fake_openai.base_url,
            GEMINI_API_KEY="sk-test",
        )

        assert "echo: Which pontoon again?" in chat(gateway, "Which pontoon again?")
        body = asked(fake_openai, "Which pontoon again?")
        assert "Sjøsprøyt-42" in system_prompt(body)  # the imported MEMORY.md
        assert "Dry humour" in system_prompt(body)  # the imported SOUL.md
        assert user_texts(body) == [*HISTORY, "Which pontoon again?"]
        answers = [m.get("content") for m in messages(body) if m.get("role") == "assistant"]
        assert "Pontoon C, next to the fuel dock." in answers
        assert "abandoned branch" not in str(body)

        # An allowlisted sender: an owner, as OpenClaw's DMs shared the main session
        telegram.wait_for(lambda: telegram.calls_to("getUpdates"))
        telegram.push_update(telegram.text(111222333, "hello from the boat", sender=111222333))
        telegram.wait_for(lambda: texts(telegram, 111222333) == ["echo: hello from the boat"])
        body = asked(fake_openai, "hello from the boat")
        assert body["model"] == "gpt-fake"
        assert user_texts(body)[:2] == HISTORY

        # The peer a binding routes to the research agent: its model, memory and history
        telegram.push_update(telegram.text(444555666, "any new papers?", sender=444555666))
        telegram.wait_for(lambda: telegram.messages(444555666))
        body = asked(fake_openai, "any new papers?")
        assert body["model"] == "gemini-2.5-flash"
        assert "brackish" in system_prompt(body)
        assert "two paywalled papers" in str(body)  # the imported compaction summary

        telegram.push_update(telegram.text(555000111, "let me in", sender=555000111))
        telegram.push_update(telegram.text(111222333, "still there?", sender=111222333))
        telegram.wait_for(lambda: len(telegram.messages(111222333)) == 2)
        telegram.wait_for(lambda: telegram.messages(555000111))
        refused = [m.text for m in telegram.messages(555000111)]  # not on the imported allowlist
        assert refused == ["You are not on this assistant's list of allowed senders."]
        assert not any("let me in" in user_texts(r.body) for r in fake_openai.requests)
