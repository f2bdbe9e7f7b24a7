"""Telegram adapter: update parsing, Markdown → HTML, error mapping and the polling loop against
the fake Bot API (in-process, no gateway)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from gateway.adapters import telegram_listener as telegram
from gateway.adapters.base import AdapterError, FormattingRejected
from gateway.adapters.telegram import TelegramAdapter
from gateway.adapters.telegram_html import render
from gateway.adapters.telegram_updates import BotIdentity, parse_update
from gateway.connections import PlatformConnection, State
from gateway.messages import InboundMessage, ReplyTarget
from gateway.router import Routed
from tests.fakes.telegram_server import FakeTelegram, visible_text

BOT = BotIdentity(id=123, username="openclaw_bot")
USER = {"id": 42, "is_bot": False, "first_name": "Ada", "last_name": "L"}
PRIVATE = {"id": 42, "type": "private"}
GROUP = {"id": -1001, "type": "supergroup", "title": "team"}


def update(**message: Any) -> dict[str, Any]:
    return {"update_id": 7, "message": {"message_id": 55, "from": USER, "date": 0} | message}


def mention(text: str, handle: str = "@openclaw_bot", kind: str = "mention") -> dict[str, Any]:
    offset = len(text[: text.index(handle)].encode("utf-16-le")) // 2
    return {"type": kind, "offset": offset, "length": len(handle)}


def parse(payload: dict[str, Any]) -> InboundMessage | None:
    return parse_update(payload, "default", BOT)


def test_private_text_message() -> None:
    message = parse(update(chat=PRIVATE, text="hello"))
    assert message == InboundMessage(
        channel="telegram",
        account="default",
        chat_id="42",
        sender_id="42",
        message_id="42:55",
        text="hello",
        sender_name="Ada L",
    )
    assert message.target() == ReplyTarget("42", "", "42:55")


@pytest.mark.parametrize(
    ("text", "entities", "mentioned", "cleaned"),
    [
        ("@openclaw_bot what is up", [mention("@openclaw_bot what is up")], True, "what is up"),
        ("hey @OpenClaw_Bot, hi", [mention("hey @OpenClaw_Bot, hi", "@OpenClaw_Bot")], True, "hey , hi"),
        ("🎉🎉 @openclaw_bot go", [mention("🎉🎉 @openclaw_bot go")], True, "🎉🎉 go"),
        ("@other_bot hi", [mention("@other_bot hi", "@other_bot")], False, "@other_bot hi"),
        ("/help@openclaw_bot", [mention("/help@openclaw_bot", "/help@openclaw_bot", "bot_command")], True, "/help"),
        ("/help@other_bot", [mention("/help@other_bot", "/help@other_bot", "bot_command")], False, "/help@other_bot"),
        ("just talking", [], False, "just talking"),
    ],
)  # fmt: skip
def test_group_mentions_are_detected_and_stripped(
    text: str, entities: list[dict[str, Any]], mentioned: bool, cleaned: str
) -> None:
    message = parse(update(chat=GROUP, text=text, entities=entities))
    assert message is not None
    assert (message.is_group, message.mentioned, message.text) == (True, mentioned, cleaned)
    assert message.message_id == "-1001:55"


def test_text_mention_of_the_bot_counts() -> None:
    entity = {"type": "text_mention", "offset": 0, "length": 4, "user": {"id": 123}}
    message = parse(update(chat=GROUP, text="Claw, hi", entities=[entity]))
    assert message is not None and message.mentioned and message.text == "Claw, hi"


def test_reply_to_the_bot_and_forum_topics() -> None:
    bot_message = {"message_id": 50, "from": {"id": 123, "is_bot": True}, "chat": GROUP}
    message = parse(update(chat=GROUP, text="and?", reply_to_message=bot_message))
    assert message is not None and message.reply_to_bot and not message.mentioned
    someone = {"message_id": 50, "from": {"id": 9}, "chat": GROUP}
    message = parse(update(chat=GROUP, text="and?", reply_to_message=someone))
    assert message is not None and not message.reply_to_bot
    # In a forum, a plain topic message "replies" to the topic's creation (here by the bot).
    created = bot_message | {"message_id": 9, "forum_topic_created": {"name": "ops"}}
    message = parse(
        update(
            chat=GROUP | {"is_forum": True},
            text="hi",
            message_thread_id=9,
            is_topic_message=True,
            reply_to_message=created,
        )
    )
    assert message is not None and message.thread_id == "9" and not message.reply_to_bot
    assert message.target() == ReplyTarget("-1001", "9", "-1001:55")
    plain_reply_thread = parse(update(chat=GROUP, text="x", message_thread_id=50))
    assert plain_reply_thread is not None and plain_reply_thread.thread_id == ""


@pytest.mark.parametrize("kind", ["sticker", "location", "poll"])
def test_non_text_messages_without_a_file_are_marked_unsupported(kind: str) -> None:
    message = parse(update(chat=PRIVATE, **{kind: {"file_id": "x"}}))
    assert message is not None and message.unsupported == kind and message.text == ""


def test_a_caption_mention_addresses_the_bot_in_a_group() -> None:
    caption = "@openclaw_bot look"
    message = parse(
        update(chat=GROUP, photo=[{}], caption=caption, caption_entities=[mention(caption)])
    )
    # (a photo without a usable size: refused politely, its caption still addresses the bot)
    assert message is not None and message.mentioned and message.unsupported == "photo"


@pytest.mark.parametrize(
    "payload",
    [
        {"update_id": 1, "edited_message": {"message_id": 1, "chat": PRIVATE, "text": "x"}},
        {"update_id": 1, "channel_post": {"message_id": 1, "chat": {"id": -5, "type": "channel"}}},
        update(chat=GROUP, new_chat_members=[USER]),
        update(chat={"id": -5, "type": "channel"}, text="news"),
        {"update_id": 1, "callback_query": {"id": "1"}},
    ],
)
def test_edits_channel_posts_and_service_messages_are_ignored(payload: dict[str, Any]) -> None:
    assert parse(payload) is None


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("**bold** and *it* and _it_", "<b>bold</b> and <i>it</i> and <i>it</i>"),
        ("snake_case_name stays, 2 * 3 * 4 too", "snake_case_name stays, 2 * 3 * 4 too"),
        ("use `x<y>` here", "use <code>x&lt;y&gt;</code> here"),
        ("`**not bold**`", "<code>**not bold**</code>"),
        ("[the docs](https://e.com/a?b=1&c=2)", '<a href="https://e.com/a?b=1&amp;c=2">the docs</a>'),
        ("[x](javascript:alert(1))", "[x](javascript:alert(1))"),
        ("[`code` link](https://e.com)", '<a href="https://e.com"><code>code</code> link</a>'),
        ("## Title\nbody", "<b>Title</b>\nbody"),
        ("~~gone~~", "<s>gone</s>"),
        ("```python\nif a < b:\n    **x**\n```", '<pre><code class="language-python">if a &lt; b:\n    **x**</code></pre>'),
        ("before\n```\nplain\n```\nafter", "before\n<pre><code>plain</code></pre>\nafter"),
        ("```sh\nunclosed", '<pre><code class="language-sh">unclosed</code></pre>'),
        ('```"><script>\nx\n```', "<pre><code>x</code></pre>"),
    ],
)  # fmt: skip
def test_markdown_renders_as_telegram_html(markdown: str, expected: str) -> None:
    assert render(markdown) == expected
    assert visible_text(render(markdown))[1] == ""  # the fake parses it the way Telegram does


@given(st.text(alphabet=st.characters(exclude_characters="*_`~[#\x00")))
def test_text_without_markdown_renders_to_itself(text: str) -> None:
    shown, error = visible_text(render(text))
    assert error == ""
    assert shown == text


# --- against the fake Bot API ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server, override_settings(TELEGRAM_API_URL=server.url):
        yield server


@pytest.fixture
async def adapter(fake: FakeTelegram) -> AsyncIterator[TelegramAdapter]:
    adapter = TelegramAdapter("default", {"bot_token": fake.token}, {})
    yield adapter
    await adapter.close()


async def test_send_replies_in_the_topic_to_the_triggering_group_message(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    message_id = await adapter.send(ReplyTarget("-1001", "9", "-1001:55"), "**hi**")
    [sent] = fake.messages(-1001)
    assert sent.message_id == int(message_id) and sent.raw == "<b>hi</b>"
    assert (sent.thread_id, sent.reply_to, sent.parse_mode) == (9, 55, "HTML")
    await adapter.send(ReplyTarget("42", "", "42:5"), "plain", formatted=False)
    [private] = fake.messages(42)
    assert (private.reply_to, private.parse_mode, private.text) == (None, None, "plain")


async def test_errors_map_to_retryable_permanent_and_formatting(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    target = ReplyTarget("42")
    fake.rate_limit("sendMessage", retry_after=3)
    with pytest.raises(AdapterError) as limited:
        await adapter.send(target, "x")
    assert not limited.value.permanent and limited.value.retry_after == 3
    fake.reject_html()
    with pytest.raises(FormattingRejected):
        await adapter.send(target, "x")
    fake.block_bot(42)
    with pytest.raises(AdapterError) as blocked:
        await adapter.send(target, "x")
    assert blocked.value.permanent and "blocked" in str(blocked.value)
    fake.fail("sendMessage", 500, "Internal Server Error")
    with pytest.raises(AdapterError) as server:
        await adapter.send(target, "x")
    assert not server.value.permanent
    wrong = TelegramAdapter("default", {"bot_token": "123:wrong"}, {})
    with pytest.raises(AdapterError) as unauthorised:
        await wrong.send(target, "x")
    await wrong.close()
    assert unauthorised.value.permanent and "123:wrong" not in str(unauthorised.value)


async def test_edit_treats_not_modified_as_success(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    target = ReplyTarget("42")
    message_id = await adapter.send(target, "same")
    await adapter.edit(target, message_id, "same")
    await adapter.edit(target, message_id, "new")
    assert [m.text for m in fake.messages(42)] == ["new"]
    with pytest.raises(AdapterError, match="not found"):
        await adapter.edit(target, "999999", "x")
    await adapter.typing(ReplyTarget("-1001", "9"))
    [action] = fake.calls_to("sendChatAction")
    assert action.params == {"chat_id": -1001, "message_thread_id": 9, "action": "typing"}


class RecordingConnection(PlatformConnection):
    """A connection without database or channel layer: records states and inbound messages."""

    def __init__(self, adapter: TelegramAdapter, crash_first: bool = False) -> None:
        super().__init__(adapter, {"bot_token": adapter.credentials["bot_token"]})
        self.states: list[tuple[State, str]] = []
        self.received: list[InboundMessage] = []
        self.crash_first = crash_first

    async def set_state(self, state: State, error: str = "") -> None:
        self.state, self.last_error = state, error
        self.states.append((state, error))

    async def receive_inbound(self, message: InboundMessage) -> Routed:
        self.received.append(message)
        if self.crash_first and len(self.received) == 1:
            raise RuntimeError("database went away")
        return Routed("accepted")


async def wait_until(condition: Any, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110  # the condition is set by another thread
            await asyncio.sleep(0.01)


@override_settings(TELEGRAM_POLL_TIMEOUT=1)
async def test_offset_moves_only_after_the_update_was_received(
    fake: FakeTelegram, adapter: TelegramAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram, "MAX_BACKOFF", 0.01)
    conn = RecordingConnection(adapter, crash_first=True)
    task = asyncio.create_task(telegram.poll(conn))
    try:
        pushed = fake.push_update(fake.text(42, "hello"))
        await wait_until(lambda: len(conn.received) == 2 and fake.confirmed(pushed))
    finally:
        task.cancel()
    assert [m.message_id for m in conn.received] == [f"42:{pushed['message']['message_id']}"] * 2
    assert fake.handed_out(pushed) == 2
    methods = [c.method for c in fake.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake.calls_to("getUpdates")[0].params["timeout"] == 1
    assert ("reconnecting", "update 1: RuntimeError('database went away')") in conn.states
    assert conn.states[-1] == ("connected", "")


async def test_a_bad_token_marks_the_account_failing(fake: FakeTelegram) -> None:
    adapter = TelegramAdapter("default", {"bot_token": "123:revoked"}, {})
    conn = RecordingConnection(adapter)
    task = asyncio.create_task(telegram.poll(conn))
    try:
        await wait_until(lambda: conn.state == "failing")
    finally:
        task.cancel()
        await adapter.close()
    assert conn.last_error == "getMe: Unauthorized"
    assert telegram.PERMANENT_RETRY_SECONDS >= 60


@override_settings(TELEGRAM_POLL_TIMEOUT=1)
async def test_a_rate_limited_poll_waits_then_reconnects(
    fake: FakeTelegram, adapter: TelegramAdapter
) -> None:
    fake.fail("getUpdates", 429, "Too Many Requests: retry after 0.05", retry_after=0.05)
    conn = RecordingConnection(adapter)
    task = asyncio.create_task(telegram.poll(conn))
    try:
        await wait_until(lambda: conn.state == "connected")
    finally:
        task.cancel()
    assert [s for s, _ in conn.states] == ["connecting", "reconnecting", "connected"]


@override_settings(TELEGRAM_WEBHOOK_URL="https://bot.example.com")
def test_webhook_urls_per_account() -> None:
    assert telegram.webhook_url("default") == "https://bot.example.com/webhooks/telegram/"
    assert telegram.webhook_url("ops") == "https://bot.example.com/webhooks/telegram/ops/"
    with override_settings(TELEGRAM_WEBHOOK_URL="https://bot.example.com/webhooks/telegram/"):
        assert telegram.webhook_url("default") == "https://bot.example.com/webhooks/telegram/"
