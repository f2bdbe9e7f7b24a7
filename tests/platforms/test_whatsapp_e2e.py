"""WhatsApp end to end: a real gateway (Daphne) takes signed webhooks from the test and answers
through the fake Graph API, with the fake model behind it. Every reply is counted on the fake."""

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.adapters.whatsapp import WhatsAppAdapter
from gateway.adapters.whatsapp_text import to_whatsapp
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.fakes.whatsapp_server import (
    TOKEN,
    Failure,
    FakeWhatsApp,
    image_message,
    signed,
    status_callback,
    text_message,
)
from tests.gateway_process import ROOT, Gateway, base_env

pytestmark = pytest.mark.e2e

PHONE = "106540352242922"
USER = "16315551181"
APP_SECRET = "app-secret-e2e"
VERIFY = "verify-me"
SETTLE = 0.4  # how long "nothing more arrives" is watched for


@pytest.fixture
def whatsapp() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as fake:
        yield fake


def _env(fake: FakeWhatsApp, token: str = TOKEN) -> dict[str, str]:
    return {
        "WHATSAPP_ACCESS_TOKEN": token,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE,
        "WHATSAPP_API_URL": fake.api_url,
    }


def _start(factory: Any, fake: FakeWhatsApp, *, allow: str = "", token: str = TOKEN) -> Gateway:
    """A gateway with the default WhatsApp account; `allow` pre-authorises one sender."""
    gateway: Gateway = factory(start=False, **_env(fake, token))
    if allow:
        _manage(
            gateway,
            "shell",
            "-c",
            "from agents.services import ensure_default_agent; "
            "from gateway.models import ChannelAccount; from gateway.platforms import DEFAULTS; "
            "ChannelAccount.objects.create(channel='whatsapp', account_id='default', "
            "agent=ensure_default_agent(), credentials=DEFAULTS['whatsapp'], "
            f"options={{'phone_number_id': '{PHONE}'}}, allow_from=['{allow}'])",
        )
    return gateway.start()


def _manage(gateway: Gateway, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base_env(gateway.home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _post(gateway: Gateway, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{gateway.url}/webhooks/whatsapp/", content=body, headers=headers)


def _deliver(gateway: Gateway, payload: dict[str, Any]) -> httpx.Response:
    response = _post(gateway, *signed(APP_SECRET, payload))
    assert response.status_code == 200, response.text
    return response


def _stays(expected: int, count: Callable[[], int]) -> None:
    """`count()` is `expected` now and still after SETTLE seconds: nothing arrives late."""
    assert count() == expected
    time.sleep(SETTLE)
    assert count() == expected


def _chats(fake: FakeOpenAI) -> int:
    return sum(r.path.endswith("/chat/completions") for r in fake.requests)


def _channel(gateway: Gateway) -> dict[str, str]:
    status, body = gateway.get("/readyz")
    assert status == 200, body
    channels = body["channels"]
    assert isinstance(channels, dict)
    found: dict[str, str] = channels["whatsapp:default"]
    return found


def test_subscription_check_and_bad_signatures_are_refused(
    gateway_factory: Any, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    gateway = _start(gateway_factory, whatsapp, allow=USER)
    url = f"{gateway.url}/webhooks/whatsapp/"
    ok = httpx.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158"}
    )
    assert (ok.status_code, ok.text) == (200, "1158")
    assert ok.headers["Content-Type"].startswith("text/plain")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {},
    ):
        assert httpx.get(url, params=params).status_code == 403

    payload = text_message(PHONE, USER, "wamid.SIG1", "hello")
    body, headers = signed(APP_SECRET, payload)
    assert _post(gateway, body, {"Content-Type": "application/json"}).status_code == 401
    assert _post(gateway, *signed("not-the-secret", payload)).status_code == 401
    tampered = body.replace(b"hello", b"HELLO")
    assert _post(gateway, tampered, headers).status_code == 401
    assert _post(gateway, *signed(APP_SECRET, b"{not json")).status_code == 400
    _deliver(gateway, status_callback(PHONE, USER, "wamid.OUT1"))
    _stays(0, lambda: len(whatsapp.text_attempts))

    # The rejected copies were never journaled: the genuine delivery is new and answered once.
    _deliver(gateway, payload)
    [reply] = whatsapp.wait_for_sends(1)
    assert (reply["to"], reply["text"]["body"]) == (USER, "echo: hello")
    _stays(1, lambda: len(whatsapp.sends))
    assert _chats(fake_openai) == 1
    assert _channel(gateway)["state"] == "connected"


def test_unknown_sender_pairs_then_is_answered_once_even_when_redelivered(
    gateway_factory: Any, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    gateway = _start(gateway_factory, whatsapp)
    _deliver(gateway, text_message(PHONE, USER, "wamid.P1", "hi, who are you?"))
    [pairing] = whatsapp.wait_for_sends(1)
    assert pairing["to"] == USER
    match = re.search(r"pairing code is ([A-Z0-9]{8})", pairing["text"]["body"])
    assert match, pairing
    assert _chats(fake_openai) == 0

    assert "approved" in _manage(gateway, "pairing", "approve", match.group(1))
    payload = text_message(PHONE, USER, "wamid.P2", "hello again")
    _deliver(gateway, payload)
    _deliver(gateway, payload)  # Meta redelivers when it missed our 200
    sends = whatsapp.wait_for_sends(2)
    assert (sends[1]["to"], sends[1]["text"]["body"]) == (USER, "echo: hello again")
    _deliver(gateway, payload)
    _stays(2, lambda: len(whatsapp.sends))
    assert _chats(fake_openai) == 1
    reads = [r.body["message_id"] for r in whatsapp.requests if r.body.get("status") == "read"]
    assert reads == ["wamid.P2"]  # read receipt + typing for the message that reached the model


def test_media_long_answers_and_rate_limits(
    gateway_factory: Any, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    gateway = _start(gateway_factory, whatsapp, allow=USER)
    _deliver(gateway, image_message(PHONE, USER, "wamid.IMG"))  # a media id Meta never had
    [polite] = whatsapp.wait_for_sends(1)
    assert "could not download “image.jpg”" in polite["text"]["body"]
    whatsapp.wait_for_sends(2)  # the caption still runs
    assert _chats(fake_openai) == 1

    code = "\n".join(f"print({i})  # **not bold** in code" for i in range(180))
    long = "**Plan**\n\n" + "Some prose here. " * 250 + "\n\n```python\n" + code + "\n```\nDone."
    expected = [to_whatsapp(chunk) for chunk in WhatsAppAdapter("x", {}, {}).split(long)]
    assert len(expected) >= 3
    fake_openai.script(Text(long))
    _deliver(gateway, text_message(PHONE, USER, "wamid.LONG", "tell me everything"))
    sends = whatsapp.wait_for_sends(2 + len(expected))
    bodies = [s["text"]["body"] for s in sends[2:]]
    assert bodies == expected
    assert all(len(b) <= 4096 and b.count("```") % 2 == 0 for b in bodies)
    assert bodies[0].startswith("*Plan*")
    assert "print(179)  # **not bold** in code" in bodies[-1]

    whatsapp.fail(Failure.rate_limit(retry_after=0.2))
    _deliver(gateway, text_message(PHONE, USER, "wamid.RL", "once more"))
    sends = whatsapp.wait_for_sends(3 + len(expected))
    assert sends[-1]["text"]["body"] == "echo: once more"
    assert [r.status for r in whatsapp.text_attempts[-2:]] == [429, 200]
    _stays(3 + len(expected), lambda: len(whatsapp.sends))


def test_rejected_token_fails_visibly_and_is_not_retried(
    gateway_factory: Any, whatsapp: FakeWhatsApp, fake_openai: FakeOpenAI
) -> None:
    gateway = _start(gateway_factory, whatsapp, allow=USER, token="revoked-token")
    _deliver(gateway, text_message(PHONE, USER, "wamid.T1", "are you there?"))
    deadline = time.monotonic() + 10
    while _channel(gateway)["state"] != "failing" and time.monotonic() < deadline:
        time.sleep(0.05)
    channel = _channel(gateway)
    assert channel["state"] == "failing"
    assert "access token rejected" in channel["error"]
    assert "190" in channel["error"]
    assert "revoked-token" not in channel["error"]
    _stays(1, lambda: len(whatsapp.text_attempts))

    # The pairing reply to a stranger fails the same way; the webhook still answers 200.
    _deliver(gateway, text_message(PHONE, "15550009999", "wamid.T2", "hi"))
    whatsapp.wait_for_attempts(2)
    _stays(2, lambda: len(whatsapp.text_attempts))
    assert whatsapp.sends == []
    assert gateway.proc is not None and gateway.proc.poll() is None
    assert "revoked-token" not in gateway.output()
