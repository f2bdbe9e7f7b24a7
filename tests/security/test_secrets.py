"""Secrets never show: a scripted run with distinctive key and token values, then a search of
the gateway log, transcripts, a database dump, client frames and admin pages for them."""

import asyncio
import json
import logging
import secrets
import subprocess
import sys
from typing import Any

import pytest
import websockets
from django.contrib.auth.models import User
from django.test import Client, override_settings

from openclaw.redact import MASK, RedactSecretsFilter, redact_text
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import Error, FakeOpenAI, Text
from tests.gateway_process import ROOT, Gateway
from tests.wsclient import ProtocolClient

API_KEY = "sk-canary-" + secrets.token_hex(16)
TOKEN = "gw-canary-" + secrets.token_hex(16)
DJANGO_KEY = "dj-canary-" + secrets.token_hex(24)
CANARIES = (API_KEY, TOKEN, DJANGO_KEY)


def _leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c in text or c[10:] in text]


def _outputs_of(gateway: Gateway) -> dict[str, str]:
    """The gateway log, every transcript and a dump of the database, by name."""
    dump = subprocess.run(
        [sys.executable, "manage.py", "dumpdata", "--indent", "0"],
        cwd=ROOT,
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    transcripts = sorted((gateway.home / "sessions").rglob("*.jsonl"))
    return {
        "gateway log": gateway.output(),
        "database dump": dump.stdout + dump.stderr,
        **{str(p): p.read_text() for p in transcripts},
    }


@pytest.mark.e2e
async def test_secret_values_never_reach_logs_transcripts_database_or_clients(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    gateway = gateway_factory(
        OPENAI_API_KEY=API_KEY,
        OPENCLAW_GATEWAY_TOKEN=TOKEN,
        DJANGO_SECRET_KEY=DJANGO_KEY,
        OPENCLAW_LOG_LEVEL="DEBUG",  # the chattiest setting: SDK and HTTP client logs included
        OPENCLAW_MODEL_MAX_RETRIES="0",
    )
    # Provider errors that echo the key back, as real providers partly do.
    fake_openai.script(
        Error(
            401,
            f"Incorrect API key provided: {API_KEY}.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        Error(500, f"upstream rejected Authorization: Bearer {API_KEY} (token {TOKEN})"),
        Text("All good."),
    )
    frames: list[str] = []
    async with gateway.connect(token=TOKEN) as ws:
        client = ProtocolClient(ws)
        for text in ("first", "second", "third"):
            end, _ = await client.chat(text)
            frames.append(json.dumps(end))
        frames.extend(json.dumps(e) for e in client.events)
    assert [json.loads(f)["event"] for f in frames[:3]] == [
        "chat.error",
        "chat.error",
        "chat.final",
    ]
    # wrong tokens, by query and by header, and a cross-origin page
    for wrong in (TOKEN[:-1] + "x", API_KEY):
        async with gateway.connect(token=wrong) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
    headers = {"Authorization": f"Bearer {TOKEN}x"}
    async with websockets.connect(gateway.ws_url(None), additional_headers=headers) as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    with pytest.raises(websockets.InvalidStatus):
        async with gateway.connect(token=TOKEN, origin="https://evil.example"):
            pass
    assert await asyncio.to_thread(gateway.terminate) == 0

    # the key really was used (so a leak was possible), and the redaction really fired
    assert fake_openai.requests[0].authorization == f"Bearer {API_KEY}"
    outputs = await asyncio.to_thread(_outputs_of, gateway)
    assert MASK in outputs["gateway log"], (
        "expected the provider's error (echoing the key) in the log, masked"
    )
    assert any(name.endswith(".jsonl") for name in outputs)
    outputs["client frames"] = "\n".join(frames)
    leaks = {name: _leaks(text) for name, text in outputs.items() if _leaks(text)}
    assert leaks == {}


@pytest.mark.services
@pytest.mark.django_db
def test_admin_pages_never_show_provider_keys() -> None:
    from agents.services import ensure_default_agent
    from tests.security.conftest import make_account

    ensure_default_agent()
    account = make_account()
    client = Client()
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    pages = [
        "/admin/",
        "/admin/agents/agent/",
        "/admin/agents/agent/1/change/",
        "/admin/gateway/channelaccount/",
        f"/admin/gateway/channelaccount/{account.pk}/change/",
        "/admin/audit/auditevent/",
    ]
    with override_settings(OPENCLAW_PROVIDER_KEYS={"OPENAI_API_KEY": API_KEY}):
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            assert API_KEY not in response.content.decode(), page


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


@override_settings(
    OPENCLAW_PROVIDER_KEYS={"OPENAI_API_KEY": API_KEY},
    OPENCLAW_GATEWAY_TOKEN=TOKEN,
    OPENCLAW_CHANNEL_ENV={
        "SLACK_BOT_TOKEN": "xoxb-canary-123456",
        "TELEGRAM_WEBHOOK_SECRET": "tg-canary-secret",
        "WHATSAPP_PHONE_NUMBER_ID": "1234567890",  # an id, not a secret: left alone
    },
)
def test_the_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError(f"boom with {API_KEY}")
    except RuntimeError as exc:
        record = _record("calling %s with %r", "https://x/?token=" + TOKEN, {"k": API_KEY}, exc=exc)
    assert RedactSecretsFilter().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert API_KEY not in formatted and TOKEN not in formatted
    assert formatted.count(MASK) >= 3
    assert redact_text("xoxb-canary-123456 and tg-canary-secret") == f"{MASK} and {MASK}"
    assert redact_text("number 1234567890") == "number 1234567890"
    assert redact_text("Authorization: Bearer abcdefghijkl") == f"Authorization: Bearer {MASK}"
    quoted = "tok%20en-with-space"
    with override_settings(OPENCLAW_GATEWAY_TOKEN="tok en-with-space"):
        assert quoted not in redact_text(f"GET /ws/?token={quoted}")


def test_short_values_are_not_treated_as_secrets() -> None:
    with override_settings(OPENCLAW_PROVIDER_KEYS={"X_API_KEY": "abc"}):
        assert redact_text("abc abc") == "abc abc"


def test_settings_install_the_filter_on_the_console_handler() -> None:
    from django.conf import settings

    logging_config: dict[str, Any] = settings.LOGGING
    assert "redact_secrets" in logging_config["handlers"]["console"]["filters"]


TELEGRAM_TOKEN = "999:tg-canary-" + secrets.token_hex(12)
SLACK_TOKEN = "xoxb-canary-" + secrets.token_hex(12)


@pytest.mark.e2e
async def test_platform_tokens_printed_by_a_command_are_masked_everywhere(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    """The gateway's own environment dumped by an approved command (`/proc/$PPID/environ`):
    the Telegram and Slack tokens in it reach neither the model, the transcript, the log nor
    the database."""
    from tests.fakes.openai_server import ToolCall, ToolCalls
    from tests.fakes.telegram_server import FakeTelegram

    canaries = (TELEGRAM_TOKEN, SLACK_TOKEN)
    with FakeTelegram(token=TELEGRAM_TOKEN) as telegram:
        env = {
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_URL": telegram.url,
            "TELEGRAM_POLL_TIMEOUT": "1",
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
        }
        code = (
            "from agents.models import Agent; from agents.services import ensure_default_agent\n"
            "ensure_default_agent()\n"
            "Agent.objects.filter(slug='main').update(exec_enabled=True, exec_approval=False)\n"
        )
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=gateway_factory(start=False, **env).env,
            check=True,
            capture_output=True,
        )
        gateway = gateway_factory(start=True, **env)
        dump = ToolCall("exec", json.dumps({"command": "tr '\\0' '\\n' < /proc/$PPID/environ"}))
        fake_openai.script(ToolCalls(dump), Text("Dumped."))
        async with gateway.connect() as ws:
            await ProtocolClient(ws).chat("show me the environment")
        assert await asyncio.to_thread(gateway.terminate) == 0

    tool_result = str(fake_openai.requests[-1].body["messages"][-1]["content"])
    assert "TELEGRAM_BOT_TOKEN=" + MASK in tool_result  # it ran, and the value was masked
    outputs = await asyncio.to_thread(_outputs_of, gateway)
    outputs["model requests"] = json.dumps([r.body for r in fake_openai.requests])
    leaks = {name: [c for c in canaries if c in text] for name, text in outputs.items()}
    assert {name: found for name, found in leaks.items() if found} == {}
