"""Platform faults through a real gateway: the platform answers 5xx or 429 when we send, or its
Socket Mode WebSocket drops mid-session. Each time the user gets exactly one answer, the session
answers its next message, and the gateway keeps running."""

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.fakes.slack_server import Fail, FakeSlack, dm_event
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.whatsapp_server import Failure, FakeWhatsApp, signed, text_message
from tests.gateway_process import Gateway
from tests.platforms.test_slack_e2e import (
    manage,
    replies,
    settle,
    slack,
    slack_gateway,
    wait_state,
)

pytestmark = pytest.mark.e2e
__all__ = ["slack"]  # the fixture, shared with the Slack end-to-end tests

OPEN = {"dm_policy": "open"}


def alive(gateway: Gateway) -> None:
    assert gateway.proc is not None and gateway.proc.poll() is None, gateway.output()
    assert gateway.get("/readyz")[0] == 200


def test_slack_5xx_on_send_is_retried_and_the_answer_arrives_once(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = slack_gateway(gateway_factory, slack, account=OPEN)
    slack.fail("chat.postMessage", Fail(status=503), Fail(status=500))
    slack.push(dm_event("through the outage"))
    slack.wait(lambda: replies(slack, "D0DM"), 20)
    settle()
    assert replies(slack, "D0DM") == ["echo: through the outage"]
    assert [c.method for c in slack.calls("chat.postMessage")] == ["chat.postMessage"] * 3
    assert len(fake_openai.requests) == 1  # the turn ran once; only the delivery was retried

    slack.push(dm_event("and after it"))
    slack.wait(lambda: replies(slack, "D0DM")[1:] == ["echo: and after it"])
    assert wait_state(gateway, "connected")["error"] == ""
    alive(gateway)


def test_slack_5xx_longer_than_the_retries_still_delivers_once_slack_is_back(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = slack_gateway(gateway_factory, slack, account=OPEN)
    # One streamed post (4 attempts) and the final delivery (4 more) fail, then 2 more.
    outage = 10
    fake_openai.script(Text(["echo: a long outage"]))
    slack.fail("chat.postMessage", *[Fail(status=503)] * outage)
    slack.push(dm_event("a long outage"))
    slack.wait(lambda: replies(slack, "D0DM"), 90)
    settle()
    assert replies(slack, "D0DM") == ["echo: a long outage"]
    assert len(slack.calls("chat.postMessage")) == outage + 1
    assert len(fake_openai.requests) == 1
    slack.push(dm_event("next"))
    slack.wait(lambda: replies(slack, "D0DM")[-1:] == ["echo: next"])
    alive(gateway)


def test_slack_429_waits_retry_after_then_delivers_once(
    gateway_factory: GatewayFactory, slack: FakeSlack
) -> None:
    gateway = slack_gateway(gateway_factory, slack, account=OPEN)
    slack.fail("chat.postMessage", Fail.rate_limited(retry_after=2))
    slack.push(dm_event("slow down"))
    slack.wait(lambda: replies(slack, "D0DM"), 20)
    settle()
    assert replies(slack, "D0DM") == ["echo: slow down"]
    first, second = slack.calls("chat.postMessage")
    assert second.at - first.at >= 1.9  # Retry-After honoured, not the 0.5 s default backoff
    slack.push(dm_event("again"))
    slack.wait(lambda: replies(slack, "D0DM")[-1:] == ["echo: again"])
    alive(gateway)


def test_slack_socket_dropped_mid_turn_reconnects_without_loss_or_duplicate(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = slack_gateway(
        gateway_factory, slack, account=OPEN, OPENCLAW_STREAM_EDIT_SECONDS="0.05"
    )
    wait_state(gateway, "connected")
    words = [f"w{i} " for i in range(12)]
    fake_openai.script(Text(words, chunk_delay=0.1))
    first = slack.push(dm_event("a long answer please"))
    slack.wait(lambda: first in slack.acks)
    slack.wait(lambda: replies(slack, "D0DM"))  # streaming has begun
    slack.drop()  # mid-turn, and Slack never saw the ack: it will send the envelope again
    slack.wait(lambda: slack.connections_opened == 2 and slack.open_sockets(), 20)
    wait_state(gateway, "connected")
    slack.redeliver(first)
    second = slack.push(dm_event("still with me?"))
    slack.wait(lambda: slack.acks.count(first) == 2 and second in slack.acks)
    expected = ["".join(words).strip(), "echo: still with me?"]
    slack.wait(lambda: [t.strip() for t in replies(slack, "D0DM")] == expected, 20)
    settle()
    assert [t.strip() for t in replies(slack, "D0DM")] == expected
    assert len(fake_openai.requests) == 2  # the redelivered envelope started no second turn
    alive(gateway)


# --- Telegram (long polling) and WhatsApp (webhook) ---------------------------------------


def test_telegram_429_and_5xx_on_send_deliver_once(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    with FakeTelegram() as telegram:
        gateway = gateway_factory(
            start=False,
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.url,
            TELEGRAM_POLL_TIMEOUT="1",
        )
        start_open(gateway, "telegram")
        telegram.rate_limit("sendMessage", retry_after=1)
        telegram.fail("sendMessage", 502, "Bad Gateway")
        telegram.push_update(telegram.text(4242, "hello through trouble"))
        telegram.wait_for(lambda: telegram.messages(4242), 20)
        settle()
        assert [m.text for m in telegram.messages(4242)] == ["echo: hello through trouble"]
        statuses = [c.status for c in telegram.calls_to("sendMessage")]
        assert statuses == [429, 502, 200]
        telegram.push_update(telegram.text(4242, "and again"))
        telegram.wait_for(
            lambda: [m.text for m in telegram.messages(4242)][1:] == ["echo: and again"]
        )
        assert len(fake_openai.requests) == 2
        alive(gateway)


def start_open(gateway: Gateway, channel: str) -> Gateway:
    """Create the default account from the environment with direct messages open to anyone
    (the default policy pairs unknown senders first), then start the gateway."""
    manage(
        gateway,
        "shell",
        "-c",
        "from gateway.platforms import ensure_default_accounts; "
        "from gateway.models import ChannelAccount; ensure_default_accounts(); "
        f"ChannelAccount.objects.filter(channel={channel!r}).update(dm_policy='open')",
    )
    return gateway.start()


WA_PHONE, WA_USER, WA_SECRET = "106540352242922", "16315551181", "app-secret-faults"


def test_whatsapp_5xx_and_429_on_send_deliver_once(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    with FakeWhatsApp() as whatsapp:
        gateway = gateway_factory(
            start=False,
            WHATSAPP_ACCESS_TOKEN=whatsapp.access_token,
            WHATSAPP_APP_SECRET=WA_SECRET,
            WHATSAPP_VERIFY_TOKEN="verify",
            WHATSAPP_PHONE_NUMBER_ID=WA_PHONE,
            WHATSAPP_API_URL=whatsapp.api_url,
        )
        start_open(gateway, "whatsapp")
        whatsapp.fail(Failure.server_error(), Failure.rate_limit(retry_after=1))
        payload = text_message(WA_PHONE, WA_USER, "wamid.F1", "answer me anyway")
        body, headers = signed(WA_SECRET, payload)
        url = f"{gateway.url}/webhooks/whatsapp/"
        assert httpx.post(url, content=body, headers=headers).status_code == 200
        whatsapp.wait_for_sends(1, 20)
        settle()
        assert whatsapp.texts_to(WA_USER) == ["echo: answer me anyway"]
        assert [r.status for r in whatsapp.text_attempts] == [503, 429, 200]
        # Meta redelivers a webhook it thinks failed: the journal drops the copy.
        assert httpx.post(url, content=body, headers=headers).status_code == 200
        payload = text_message(WA_PHONE, WA_USER, "wamid.F2", "one more")
        body, headers = signed(WA_SECRET, payload)
        assert httpx.post(url, content=body, headers=headers).status_code == 200
        whatsapp.wait_for_sends(2)
        settle()
        assert whatsapp.texts_to(WA_USER) == ["echo: answer me anyway", "echo: one more"]
        assert len(fake_openai.requests) == 2
        alive(gateway)
