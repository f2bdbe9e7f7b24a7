"""End to end: a real gateway long-polling (or taking webhooks from) the fake Telegram Bot API,
answered by the fake model. The polling tests share one gateway; each uses its own chats."""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import Gateway, manage
from tests.telegram_e2e import (
    TOKEN,
    polling_gateway,
    telegram_env,
    texts,
    wait_texts,
)
from tests.telegram_e2e import configure as configure_accounts

pytestmark = pytest.mark.e2e

SECRET = "s3cret-Token_1"
ALLOWED = [1003, 1004, 1005, 1006, 1007, 1008, 1009, 3001]  # DM senders let in before start
GROUPS = [-100201, -100202, -100203, -100204, -100205]


def configure(home: Path, env: dict[str, str]) -> None:
    """Create the default Telegram account from `env` and let the test chats in."""
    configure_accounts(
        home,
        env,
        "from gateway.models import ChannelAccount\n"
        "ChannelAccount.objects.filter(channel='telegram').update("
        f"allow_from={[str(a) for a in ALLOWED]!r}, group_allowlist={[str(g) for g in GROUPS]!r})\n",
    )


@pytest.fixture(scope="module")
def polling(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeTelegram,
    model: FakeOpenAI,
) -> Iterator[Gateway]:
    """One polling gateway for the module (a gateway start costs seconds)."""
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("telegram"), model)
    env = telegram_env(fake, OPENCLAW_STREAM_EDIT_SECONDS="0.05")
    configure(factory.home, env)
    with polling_gateway(factory, fake, env) as gateway:
        yield gateway


def eventually(condition: Callable[[], object], seconds: float = 10.0) -> None:
    """Poll a condition on the gateway (the fake's own waits are for its traffic)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def channel(gateway: Gateway) -> Any:
    """This gateway's telegram:default entry in /readyz (None until the runtime lists it)."""
    channels = gateway.get("/readyz")[1]["channels"]
    return channels.get("telegram:default") if isinstance(channels, dict) else None


def asked(model: FakeOpenAI, text: str) -> int:
    """Model requests whose newest user message is `text`."""
    return sum(user_texts(r.body)[-1:] == [text] for r in model.requests)


def test_readyz_shows_telegram_connected_after_get_me_and_delete_webhook(
    polling: Gateway, fake: FakeTelegram
) -> None:
    eventually(lambda: channel(polling) == {"state": "connected", "error": ""})
    assert polling.get("/readyz")[0] == 200
    methods = [c.method for c in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake.calls_to("getUpdates")[0].params["timeout"] == 1


def test_private_chat_pairs_then_the_model_answers_once(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = 555
    fake.push_update(fake.text(chat, "hello"))
    fake.wait_for(lambda: len(fake.messages(chat)) == 1)
    [pairing] = texts(fake, chat)
    found = re.search(r"pairing code is ([A-Z0-9]{8})", pairing)
    assert found, pairing
    assert "approved" in manage(polling.home, {}, "pairing", "approve", found[1])
    fake.push_update(fake.text(chat, "are you there?"))
    wait_texts(fake, chat, [pairing, "echo: are you there?"])
    assert asked(model, "hello") == 0 and asked(model, "are you there?") == 1
    [request] = [r for r in model.requests if user_texts(r.body)[-1:] == ["are you there?"]]
    said = [m["content"] for m in request.body["messages"] if m["role"] == "user"][-1]
    assert " · " not in said  # a private chat has one person: no name in the stamp
    typing = [c.params for c in fake.calls_to("sendChatAction")]
    assert {"chat_id": chat, "action": "typing"} in typing


def test_group_mention_is_answered_once_replying_to_the_message(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    group = GROUPS[0]
    update = fake.push_update(fake.text(group, "@openclaw_bot what is up", sender=2001))
    wait_texts(fake, group, ["echo: what is up"])
    [answer] = fake.messages(group)
    assert answer.reply_to == update["message"]["message_id"] and answer.thread_id is None
    # Several people talk in a group: the model reads who wrote each message in its stamp.
    [request] = [r for r in model.requests if user_texts(r.body)[-1:] == ["what is up"]]
    said = [m["content"] for m in request.body["messages"] if m["role"] == "user"][-1]
    assert re.fullmatch(r"\[[^\]]+ · User2001\] what is up", said), said


def test_group_message_without_mention_gets_no_turn_of_its_own(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    group = GROUPS[1]
    fake.push_update(fake.text(group, "just chatting among us", sender=2002))
    fake.push_update(fake.text(group, "@openclaw_bot ping", sender=2002))
    # The mention, polled after it, is answered once the streamed answer is complete.
    fake.wait_for(lambda: [t.endswith("\nping") for t in texts(fake, group)] == [True])
    # The chatter reached the model only as context of the mention (tests/security/
    # test_routing_e2e.py), never as a turn of its own.
    [request] = [r for r in model.requests if "just chatting" in json.dumps(r.body)]
    assert user_texts(request.body)[-1].endswith(
        "User2002: just chatting among us\n[Now to you]\nping"
    )


def test_a_reply_to_the_bot_is_answered(polling: Gateway, fake: FakeTelegram) -> None:
    group = GROUPS[2]
    fake.push_update(fake.text(group, "@openclaw_bot first", sender=2003))
    wait_texts(fake, group, ["echo: first"])
    [first] = fake.messages(group)
    reply = fake.text(group, "and then?", sender=2003, reply_to_message=fake.reply_to(first))
    fake.push_update(reply)
    wait_texts(fake, group, ["echo: first", "echo: and then?"])


def test_a_forum_topic_is_answered_in_that_topic(polling: Gateway, fake: FakeTelegram) -> None:
    group = GROUPS[3]
    topic = {"message_thread_id": 77, "is_topic_message": True}
    update = fake.push_update(fake.text(group, "@openclaw_bot in topic", sender=2004, **topic))
    wait_texts(fake, group, ["echo: in topic"])
    [answer] = fake.messages(group)
    assert (answer.thread_id, answer.reply_to) == (77, update["message"]["message_id"])
    typing = [c.params for c in fake.calls_to("sendChatAction")]
    assert {"chat_id": group, "message_thread_id": 77, "action": "typing"} in typing


def test_forum_topics_in_parallel_are_sessions_of_their_own(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    """Two topics of one forum group at once: each answer lands in its own topic, addressed to
    its own asker, and neither topic's model call sees the other's conversation."""
    group = GROUPS[4]
    a = {"message_thread_id": 11, "is_topic_message": True}
    b = {"message_thread_id": 12, "is_topic_message": True}
    first = fake.push_update(fake.text(group, "@openclaw_bot apples in topic A", sender=2005, **a))
    second = fake.push_update(fake.text(group, "@openclaw_bot pears in topic B", sender=2006, **b))
    fake.wait_for(lambda: len(fake.messages(group)) == 2)
    eventually(
        lambda: sorted(texts(fake, group)) == ["echo: apples in topic A", "echo: pears in topic B"]
    )
    where = {m.text: (m.thread_id, m.reply_to) for m in fake.messages(group)}
    assert where["echo: apples in topic A"] == (11, first["message"]["message_id"])
    assert where["echo: pears in topic B"] == (12, second["message"]["message_id"])
    for mine, other in (("apples", "pears"), ("pears", "apples")):
        [request] = [r for r in model.requests if mine in json.dumps(r.body)]
        assert other not in json.dumps(request.body)


def test_a_redelivered_update_is_answered_once(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = 1003
    first = fake.push_update(fake.text(chat, "once only"))
    wait_texts(fake, chat, ["echo: once only"])
    fake.redeliver(first)  # as if the offset had never been confirmed
    fake.wait_for(lambda: fake.handed_out(first) == 2 and fake.confirmed(first))
    fake.push_update(fake.text(chat, "next"))  # same session: any reply to the copy comes first
    wait_texts(fake, chat, ["echo: once only", "echo: next"])
    assert asked(model, "once only") == 1


def test_a_streamed_answer_edits_one_message_then_completes(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = 1004
    answer = "one two three four five six seven eight nine ten"
    model.script(Text(answer, chunk_delay=0.03))
    fake.push_update(fake.text(chat, "stream please"))
    wait_texts(fake, chat, [answer])
    [message] = fake.messages(chat)
    sends = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == chat]
    assert len(sends) == 1 and sends[0].params["text"] != answer  # sent early, then edited
    edits = [c for c in fake.calls_to("editMessageText") if c.params["chat_id"] == chat]
    assert len(edits) >= 2 and edits[-1].params["parse_mode"] == "HTML"
    assert message.edits == len(edits)


def test_a_long_answer_is_split_with_code_fences_intact(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = 1005
    lines = [f"print('line {i} <of> many')" for i in range(400)]
    answer = "Here is the **script**:\n\n```python\n" + "\n".join(lines) + "\n```\n\nThat is all."
    model.script(Text([answer[i : i + 500] for i in range(0, len(answer), 500)]))
    fake.push_update(fake.text(chat, "long one"))
    fake.wait_for(
        lambda: (
            "That is all." in "".join(texts(fake, chat))
            and all(m.parse_mode == "HTML" for m in fake.messages(chat))
        )
    )
    messages = fake.messages(chat)
    assert len(messages) == 3  # 4096 visible characters at most per message
    assert all(len(m.text) <= 4096 for m in messages)
    assert all('<pre><code class="language-python">' in m.raw for m in messages[1:])
    assert messages[0].raw.startswith("Here is the <b>script</b>:")
    shown = [line for m in messages for line in m.text.split("\n")]
    assert [line for line in shown if line.startswith("print(")] == lines
    sends = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == chat]
    assert [c.status for c in sends] == [200, 200, 200]


def test_rejected_html_is_resent_as_plain_text_once(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = 1006
    fake.reject_html(chat_id=chat, times=2)  # the final edit of the answer, then a new message
    model.script(Text("Some **bold** text", chunk_delay=0.05))  # streamed, then edited
    fake.push_update(fake.text(chat, "format this"))
    wait_texts(fake, chat, ["Some **bold** text"])
    fake.push_update(fake.sticker(chat))  # answered at once with sendMessage
    fake.wait_for(lambda: len(fake.messages(chat)) == 2)
    first, polite = fake.messages(chat)
    assert first.parse_mode is None and polite.parse_mode is None
    assert "not supported yet" in polite.text
    # (A plain edit that changes nothing gets Telegram's harmless "not modified" 400: when the
    # answer's tail streamed before the end, the plain fallback of the final edit is one.)
    rejected = [
        c
        for c in fake.calls
        if c.status == 400 and c.params.get("chat_id") == chat and c.params.get("parse_mode")
    ]
    assert [c.method for c in rejected] == ["editMessageText", "sendMessage"]


def test_a_rate_limited_send_is_retried_after_retry_after(
    polling: Gateway, fake: FakeTelegram
) -> None:
    chat = 1007
    fake.rate_limit("sendMessage", retry_after=1, chat_id=chat)
    fake.push_update(fake.text(chat, "limited"))
    wait_texts(fake, chat, ["echo: limited"])
    sends = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == chat]
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 0.9


def test_a_sticker_gets_a_polite_not_supported_reply(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    # (Photos, voice notes and files are taken: tests/media.)
    chat = 1008
    before = len(model.requests)
    fake.push_update(fake.sticker(chat))
    fake.wait_for(lambda: len(fake.messages(chat)) == 1)
    [reply] = texts(fake, chat)
    assert "sticker is not supported yet" in reply
    assert len(model.requests) == before


def post_update(gateway: Gateway, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    url = f"{gateway.url}/webhooks/telegram/"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_webhook_mode_checks_the_secret_and_answers_once(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    with FakeTelegram(token=TOKEN) as fake:
        env = {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com",
            "TELEGRAM_API_URL": fake.url,
            "OPENCLAW_STREAM_EDIT_SECONDS": "0.05",
        }
        configure(gateway_factory.home, env)
        gateway = gateway_factory(start=True, **env)
        fake.wait_for(lambda: fake.webhook)
        url = "https://bot.example.com/webhooks/telegram/"
        assert fake.webhook == {"url": url, "secret_token": SECRET}
        chat = 3001
        update = json.dumps({"update_id": 1, "message": fake.text(chat, "via webhook")}).encode()
        assert post_update(gateway, update, None) == 401
        assert post_update(gateway, update, "wrong") == 401
        assert post_update(gateway, b"{not json", SECRET) == 400
        assert texts(fake, chat) == []
        assert post_update(gateway, update, SECRET) == 200
        wait_texts(fake, chat, ["echo: via webhook"])
        assert post_update(gateway, update, SECRET) == 200  # Telegram redelivers
        later = json.dumps({"update_id": 2, "message": fake.text(chat, "later")}).encode()
        assert post_update(gateway, later, SECRET) == 200
        wait_texts(fake, chat, ["echo: via webhook", "echo: later"])
        assert asked(fake_openai, "via webhook") == 1
        assert not fake.calls_to("getUpdates")
        eventually(lambda: channel(gateway) == {"state": "connected", "error": ""})


def test_a_command_as_the_first_message_of_a_chat_is_answered(
    polling: Gateway, fake: FakeTelegram, model: FakeOpenAI
) -> None:
    chat = 1009
    before = len(model.requests)
    fake.push_update(fake.text(chat, "/help"))
    fake.wait_for(lambda: any("/reset" in t for t in texts(fake, chat)))
    assert len(model.requests) == before  # commands never reach the model
