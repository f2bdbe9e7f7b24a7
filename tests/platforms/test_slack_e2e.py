"""End to end on Slack: a real gateway process, the real slack_sdk clients inside it, a fake
Slack (Web API + Socket Mode) and a fake model."""

import hashlib
import hmac
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.pairing import CODE_ALPHABET, CODE_LENGTH
from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, said
from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    FakeSlack,
    dm_event,
    event_callback,
    mention_event,
)
from tests.gateway_process import ROOT, Gateway

pytestmark = pytest.mark.e2e

SIGNING_SECRET = "fake-signing-secret"
CODE = re.compile(rf"\b[{CODE_ALPHABET}]{{{CODE_LENGTH}}}\b")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def slack_gateway(
    factory: GatewayFactory,
    slack: FakeSlack,
    *,
    socket_mode: bool = True,
    account: dict[str, Any] | None = None,
    **env: str,
) -> Gateway:
    """A gateway with the default Slack account from the environment; `account` fields are
    written to that account before the gateway starts."""
    credentials = {"SLACK_APP_TOKEN": APP_TOKEN} if socket_mode else {}
    if not socket_mode:
        credentials["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    gateway = factory(
        start=False,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        **credentials,
        **env,
    )
    if account:
        code = (
            "import json; from gateway.platforms import ensure_default_accounts; "
            "from gateway.models import ChannelAccount; ensure_default_accounts(); "
            "ChannelAccount.objects.filter(channel='slack', account_id='default')"
            f".update(**json.loads({json.dumps(json.dumps(account))}))"
        )
        manage(gateway, "shell", "-c", code)
    gateway.start()
    if socket_mode:
        slack.wait(lambda: slack.open_sockets(), 15)
    return gateway


def manage(gateway: Gateway, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_state(gateway: Gateway, state: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    channel: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, body = gateway.get("/readyz")
        channels = body.get("channels")
        channel = channels.get("slack:default", {}) if isinstance(channels, dict) else {}
        if channel.get("state") == state:
            return channel
        time.sleep(0.05)
    raise AssertionError(f"slack:default never became {state}: {channel}\n{gateway.output()}")


def replies(slack: FakeSlack, channel: str) -> list[str]:
    return slack.final_texts(channel)


def settle() -> None:
    """Long enough for a second reply to show up, were one coming."""
    time.sleep(1.0)


def test_socket_mode_dm_goes_through_pairing_then_is_answered_once(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = slack_gateway(gateway_factory, slack)
    assert wait_state(gateway, "connected")["error"] == ""
    first = slack.push(dm_event("hello?", user="U0ANN"))
    slack.wait(lambda: replies(slack, "D0DM"))
    [pairing] = replies(slack, "D0DM")
    code = CODE.search(pairing)
    assert code, pairing
    slack.wait(lambda: first in slack.acks)
    assert fake_openai.requests == []

    assert "approved" in manage(gateway, "pairing", "approve", code.group(0))
    second = slack.push(dm_event("What is 2 + 2? <@UBOT>", user="U0ANN"))
    slack.wait(lambda: len(replies(slack, "D0DM")) == 2)
    slack.wait(lambda: second in slack.acks)
    settle()
    assert replies(slack, "D0DM")[1] == "echo: What is 2 + 2?"
    assert [m.thread_ts for m in slack.messages] == ["", ""]  # a DM is answered in the DM
    assert len(fake_openai.requests) == 1
    assert said(fake_openai.requests[0].body["messages"][-1]["content"]) == "What is 2 + 2?"


def test_channel_mention_is_answered_once_in_its_thread(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    slack_gateway(gateway_factory, slack, account={"group_allowlist": ["C0CHAN"]})
    fake_openai.script(Text("Here is the **summary**: see [docs](https://example.com/a_b)."))
    mention = mention_event(f"<@{BOT_USER_ID}> summarise the day", ts="1700000100.000200")
    slack.push(mention)
    # The same message also arrives as a plain channel message (message.channels).
    plain = {**mention, "type": "message", "channel_type": "channel"}
    slack.push(plain)
    slack.wait(lambda: len(slack.acks) == 2)
    slack.wait(lambda: replies(slack, "C0CHAN") and "summary" in replies(slack, "C0CHAN")[0])
    settle()
    [message] = slack.messages
    assert message.thread_ts == "1700000100.000200"
    assert message.text == "Here is the *summary*: see <https://example.com/a_b|docs>."
    assert len(fake_openai.requests) == 1
    assert said(fake_openai.requests[0].body["messages"][-1]["content"]) == "summarise the day"


def test_the_same_envelope_delivered_twice_is_answered_once(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    slack_gateway(gateway_factory, slack, account={"dm_policy": "open"})
    event = dm_event("only once please")
    slack.push(event, envelope_id="env-dup")
    slack.push(event, envelope_id="env-dup", retry_attempt=1)
    slack.wait(lambda: slack.acks.count("env-dup") == 2)
    slack.wait(lambda: replies(slack, "D0DM"))
    settle()
    assert replies(slack, "D0DM") == ["echo: only once please"]
    assert len(fake_openai.requests) == 1


def test_a_streamed_answer_is_one_message_edited_in_place(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    slack_gateway(
        gateway_factory,
        slack,
        account={"dm_policy": "open"},
        OPENCLAW_STREAM_EDIT_SECONDS="0.05",
    )
    words = [f"**w{i}** " for i in range(10)]
    fake_openai.script(Text(words, chunk_delay=0.1))
    slack.push(dm_event("stream please"))
    expected = "".join(words).replace("**", "*")  # mrkdwn bold, once the answer is final
    slack.wait(lambda: replies(slack, "D0DM") == [expected], 20)
    [message] = slack.messages
    assert len(slack.calls("chat.postMessage")) == 1
    assert len(slack.calls("chat.update")) >= 3
    assert len(message.edits) >= 3 and message.edits[-1] == expected
    assert len(message.edits[0]) < len(expected)  # it grew while streaming


def test_an_answer_longer_than_a_message_is_split_with_code_fences_intact(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    slack_gateway(gateway_factory, slack, account={"dm_policy": "open"})
    code = "\n".join(f"value_{i} = compute({i}) * 2  # step {i}" for i in range(150))
    answer = "Intro paragraph.\n\n```python\n" + code + "\n```\n\n" + "Closing words. " * 150
    fake_openai.script(Text([answer[i : i + 500] for i in range(0, len(answer), 500)]))
    slack.push(dm_event("long one"))
    slack.wait(lambda: "Closing words." in "".join(replies(slack, "D0DM")), 20)
    settle()
    texts = replies(slack, "D0DM")
    assert len(texts) >= 3
    for text in texts:
        assert len(text) <= 3200
        assert text.count("```") % 2 == 0, text
    joined = "\n".join(texts)
    for i in (0, 75, 149):
        assert f"value_{i} = compute({i}) * 2  # step {i}" in joined
    assert "```python" not in joined  # Slack would print the info string as code


def _signed(body: bytes, *, secret: str = SIGNING_SECRET, age: float = 0) -> dict[str, str]:
    stamp = str(int(time.time() - age))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "Content-Type": "application/json",
    }


def _post(gateway: Gateway, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        gateway.url + "/webhooks/slack/events", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_events_api_verifies_answers_once_and_ignores_retries(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = slack_gateway(
        gateway_factory, slack, socket_mode=False, account={"dm_policy": "open"}
    )
    challenge = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()
    status, body = _post(gateway, challenge, _signed(challenge))
    assert (status, json.loads(body)) == (200, {"challenge": "c-123"})

    event = json.dumps(event_callback(dm_event("over the webhook"))).encode()
    assert _post(gateway, event, _signed(event))[0] == 200
    retry = {**_signed(event), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert _post(gateway, event, retry)[0] == 200
    slack.wait(lambda: replies(slack, "D0DM"))
    settle()
    assert replies(slack, "D0DM") == ["echo: over the webhook"]
    assert len(fake_openai.requests) == 1
    assert slack.calls("apps.connections.open") == []


def test_events_api_refuses_bad_signatures_and_stale_timestamps(
    gateway_factory: GatewayFactory, slack: FakeSlack, fake_openai: FakeOpenAI
) -> None:
    gateway = slack_gateway(
        gateway_factory, slack, socket_mode=False, account={"dm_policy": "open"}
    )
    event = json.dumps(event_callback(dm_event("let me in"))).encode()
    forged = _signed(event, secret="not-the-secret")
    stale = _signed(event, age=6 * 60)
    unsigned = {"Content-Type": "application/json"}
    challenge = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    for body, headers in ((event, forged), (event, stale), (event, unsigned), (challenge, forged)):
        status, _ = _post(gateway, body, headers)
        assert status in (401, 403)
    settle()
    assert slack.messages == [] and fake_openai.requests == []
    assert gateway.get("/readyz")[0] == 200


def test_a_dropped_socket_reconnects_and_the_next_message_is_answered(
    gateway_factory: GatewayFactory, slack: FakeSlack
) -> None:
    gateway = slack_gateway(gateway_factory, slack, account={"dm_policy": "open"})
    wait_state(gateway, "connected")
    assert len(slack.calls("apps.connections.open")) == 1

    slack.drop()
    slack.wait(lambda: len(slack.calls("apps.connections.open")) == 2 and slack.open_sockets())
    wait_state(gateway, "connected")
    slack.push(dm_event("still there?"))
    slack.wait(lambda: replies(slack, "D0DM") == ["echo: still there?"])

    slack.disconnect()  # Slack's own "this connection is going away"
    slack.wait(lambda: len(slack.calls("apps.connections.open")) == 3)
    slack.wait(lambda: slack.connections_opened == 3 and len(slack.open_sockets()) == 1)
    slack.push(dm_event("and now?"))
    slack.wait(lambda: replies(slack, "D0DM")[-1:] == ["echo: and now?"])
    assert wait_state(gateway, "connected")["error"] == ""
