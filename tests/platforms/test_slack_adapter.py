"""The Slack adapter against a fake Slack: formatting both ways, parsing events, errors, the
Events API signature and the Socket Mode listener (acks, reconnects, state)."""

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.adapters.base import AdapterError, with_retries
from gateway.adapters.slack import (
    SlackAdapter,
    inbound_from_event,
    listener,
    run_socket_mode,
    signature_is_valid,
)
from gateway.adapters.slack_text import escape, from_slack, to_mrkdwn
from gateway.connections import PlatformConnection, State
from gateway.messages import InboundMessage, ReplyTarget
from gateway.router import Routed
from tests.fakes.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    Fail,
    FakeSlack,
    dm_event,
    mention_event,
)

BOT = BOT_USER_ID


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold** and __bold__", "*bold* and *bold*"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("~~gone~~", "~gone~"),
        (
            "see [the docs](https://x.test/a_b?q=1&r=2)",
            "see <https://x.test/a_b?q=1&amp;r=2|the docs>",
        ),
        ("[**bold** link](https://x.test)", "<https://x.test|bold link>"),
        ("![a cat](https://x.test/cat.png)", "<https://x.test/cat.png|a cat>"),
        ("<https://auto.test/x>", "<https://auto.test/x>"),
        ("# Title", "*Title*"),
        ("### A **bold** heading ###", "*A bold heading*"),
        ("- one\n* two\n  + three", "• one\n• two\n  • three"),
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("`x <y> **z**`", "`x &lt;y&gt; **z**`"),
        ("``a `b` c``", "`a `b` c`"),
        ("2 * 3 * 4 and snake_case_name", "2 * 3 * 4 and snake_case_name"),
        ("> quoted", "&gt; quoted"),
        ("---", "──────────"),
        ("```python\nif a < b:\n    **x**\n```", "```\nif a &lt; b:\n    **x**\n```"),
        ("~~~\n# not a heading\n~~~", "```\n# not a heading\n```"),
        ("```\nopen fence, never closed", "```\nopen fence, never closed"),
    ],
)
def test_markdown_becomes_slack_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert to_mrkdwn(markdown) == mrkdwn


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="`~\r"), max_size=30), min_size=1)
)
def test_code_blocks_come_through_escaped_and_nothing_else(lines: list[str]) -> None:
    lines = [line.replace("\n", " ") for line in lines]
    rendered = to_mrkdwn("```js\n" + "\n".join(lines) + "\n```\nafter").split("\n")
    assert rendered[0] == "```"
    assert rendered[1 : 1 + len(lines)] == [escape(line) for line in lines]
    assert rendered[1 + len(lines) :] == ["```", "after"]


@given(st.text(max_size=200))
def test_any_text_renders_without_raw_angle_brackets_except_links(text: str) -> None:
    rendered = to_mrkdwn(text)
    assert rendered.count("\n") == text.count("\n")
    outside_links = [part.split(">", 1)[-1] for part in rendered.split("<")]
    assert all("<" not in part for part in outside_links)


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        (f"<@{BOT}> hello", "hello"),
        (f"hey <@{BOT}|openclaw>, what now?", "hey , what now?"),
        ("ask <@U2> and <@U3|ann>", "ask @U2 and @ann"),
        ("in <#C1|general> and <#C2>", "in #general and #C2"),
        ("<!here> <!subteam^S1|@team>", "@here @@team"),
        ("<https://a.test|A> and <https://b.test>", "A (https://a.test) and https://b.test"),
        ("<mailto:a@b.test|a@b.test>", "a@b.test"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
    ],
)
def test_slack_markup_becomes_plain_text(slack: str, plain: str) -> None:
    assert from_slack(slack, BOT) == plain


def _parse(event: dict[str, Any]) -> InboundMessage | None:
    return inbound_from_event("default", event, BOT)


def test_a_direct_message_is_a_private_chat_answered_in_place() -> None:
    message = _parse(dm_event("hi there", user="U1", channel="D9", ts="100.1"))
    assert message == InboundMessage(
        channel="slack",
        account="default",
        chat_id="D9",
        sender_id="U1",
        message_id="D9:100.1",
        text="hi there",
    )
    threaded = _parse({**dm_event("in a thread", ts="100.2"), "thread_ts": "100.1"})
    assert threaded is not None and threaded.thread_id == "100.1"


def test_a_channel_mention_is_a_group_message_answered_in_its_thread() -> None:
    message = _parse(mention_event(f"<@{BOT}> summarise", channel="C1", ts="200.5"))
    assert message is not None
    assert (message.chat_id, message.text, message.thread_id) == ("C1", "summarise", "200.5")
    assert message.is_group and message.mentioned and message.message_id == "C1:200.5"
    in_thread = _parse(mention_event(f"<@{BOT}> more", ts="200.9", thread_ts="200.1"))
    assert in_thread is not None and in_thread.thread_id == "200.1"


def test_mention_and_channel_message_of_one_post_share_their_id() -> None:
    mention = mention_event(f"<@{BOT}> hi", channel="C1", ts="300.1")
    plain = {**mention, "type": "message", "channel_type": "channel"}
    first, second = _parse(mention), _parse(plain)
    assert first is not None and second is not None
    assert first.message_id == second.message_id and second.mentioned


def test_channel_chatter_is_passed_on_unmentioned_and_replies_to_the_bot_count() -> None:
    chatter = _parse({**dm_event("lunch?", channel="C1"), "channel_type": "channel"})
    assert chatter is not None and chatter.is_group and not chatter.mentioned
    reply = _parse(
        {**dm_event("thanks", channel="C1"), "channel_type": "channel", "thread_ts": "1.0"}
        | {"parent_user_id": BOT}
    )
    assert reply is not None and reply.reply_to_bot and reply.thread_id == "1.0"


@pytest.mark.parametrize(
    "event",
    [
        {**dm_event("from a bot"), "bot_id": "B2"},
        {**dm_event("ours"), "user": BOT},
        {**dm_event("edited"), "subtype": "message_changed"},
        {**dm_event("deleted"), "subtype": "message_deleted"},
        {**dm_event("joined"), "subtype": "channel_join"},
        {**dm_event("bot"), "subtype": "bot_message"},
        {**dm_event("x"), "type": "reaction_added"},
        dm_event(f"<@{BOT}>"),
        {**dm_event("no sender"), "user": ""},
    ],
)
def test_what_the_bot_never_answers(event: dict[str, Any]) -> None:
    assert _parse(event) is None


def test_a_file_without_text_is_flagged_unsupported() -> None:
    shared = {**dm_event(""), "subtype": "file_share", "files": [{"id": "F1"}]}
    message = _parse(shared)
    assert message is not None and message.unsupported == "file"
    captioned = _parse({**shared, "text": "look at this"})
    assert captioned is not None and captioned.unsupported == ""


def _signed(secret: str, body: bytes, stamp: float) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{int(stamp)}:".encode() + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": str(int(stamp)),
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def test_signatures_are_checked_within_five_minutes() -> None:
    body, now = b'{"type":"event_callback"}', time.time()
    assert signature_is_valid("s3cret", body, _signed("s3cret", body, now))
    assert signature_is_valid("s3cret", body, _signed("s3cret", body, now - 290))
    assert not signature_is_valid("s3cret", body, _signed("s3cret", body, now - 310))
    assert not signature_is_valid("s3cret", body, _signed("s3cret", body, now + 310))
    assert not signature_is_valid("s3cret", body, _signed("other", body, now))
    assert not signature_is_valid("s3cret", body + b" ", _signed("s3cret", body, now))
    assert not signature_is_valid("", body, _signed("", body, now))
    assert not signature_is_valid("s3cret", body, {})
    garbage = {**_signed("s3cret", body, now), "X-Slack-Request-Timestamp": "soon"}
    assert not signature_is_valid("s3cret", body, garbage)


@pytest.fixture
def slack(settings: Any) -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        settings.SLACK_API_URL = fake.api_url
        yield fake


def _adapter(token: str = BOT_TOKEN) -> SlackAdapter:
    return SlackAdapter("default", {"bot_token": token, "app_token": APP_TOKEN}, {})


async def test_send_posts_rendered_text_in_the_thread_and_edit_updates_it(
    slack: FakeSlack,
) -> None:
    adapter = _adapter()
    ts = await adapter.send(ReplyTarget("C1", "111.1"), "**hi** <you>")
    [call] = slack.calls("chat.postMessage")
    assert call.args == {"channel": "C1", "text": "*hi* &lt;you&gt;", "thread_ts": "111.1"}
    assert call.token == BOT_TOKEN
    await adapter.edit(ReplyTarget("C1", "111.1"), ts, "**partial", formatted=False)
    await adapter.edit(ReplyTarget("C1", "111.1"), ts, "**done**")
    [posted] = slack.messages
    assert posted.ts == ts and posted.edits == ["**partial", "*done*"]
    await adapter.send(ReplyTarget("D1"), "plain")
    assert "thread_ts" not in slack.calls("chat.postMessage")[-1].args
    await adapter.typing(ReplyTarget("D1"))  # no Slack call: bots have no typing API
    assert {c.method for c in slack.calls()} == {"chat.postMessage", "chat.update"}


@pytest.mark.parametrize(
    ("failure", "permanent", "retry_after"),
    [
        (Fail.rate_limited(7), False, 7.0),
        (Fail("ratelimited"), False, 1.0),
        (Fail("invalid_auth"), True, None),
        (Fail("not_authed"), True, None),
        (Fail("channel_not_found"), True, None),
        (Fail("account_inactive"), True, None),
        (Fail("internal_error"), False, None),
        (Fail(status=500), False, None),
        (Fail(status=503), False, None),
        (Fail("fatal_error", status=500), False, None),
    ],
)
async def test_slack_errors_map_to_permanent_or_retryable(
    slack: FakeSlack, failure: Fail, permanent: bool, retry_after: float | None
) -> None:
    slack.fail("chat.postMessage", failure)
    with pytest.raises(AdapterError) as raised:
        await _adapter().send(ReplyTarget("C1"), "hi")
    assert raised.value.permanent is permanent
    assert raised.value.retry_after == retry_after
    assert BOT_TOKEN not in str(raised.value)


async def test_a_bad_token_is_permanent_and_an_unreachable_slack_is_not(
    slack: FakeSlack, settings: Any
) -> None:
    with pytest.raises(AdapterError) as bad_token:
        await _adapter("xoxb-wrong").send(ReplyTarget("C1"), "hi")
    assert bad_token.value.permanent and "invalid_auth" in str(bad_token.value)
    settings.SLACK_API_URL = "http://127.0.0.1:9/api/"
    with pytest.raises(AdapterError) as unreachable:
        await _adapter().send(ReplyTarget("C1"), "hi")
    assert not unreachable.value.permanent


async def test_a_rate_limited_send_is_retried_after_the_delay_slack_asks(
    slack: FakeSlack,
) -> None:
    slack.fail("chat.postMessage", Fail.rate_limited(0.3))
    adapter = _adapter()
    started = time.monotonic()
    ts = await with_retries(lambda: adapter.send(ReplyTarget("C1"), "hi"))
    assert time.monotonic() - started >= 0.3
    assert ts and len(slack.calls("chat.postMessage")) == 2 and len(slack.messages) == 1


class RecordingConnection(PlatformConnection):
    """A connection that records what the listener hands it instead of routing it."""

    def __init__(self, adapter: SlackAdapter, secrets: dict[str, str]) -> None:
        super().__init__(adapter, secrets)
        self.inbound: list[InboundMessage] = []
        self.states: list[tuple[str, str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False

    async def set_state(self, state: State, error: str = "") -> None:
        if (state, error) != (self.state, self.last_error):
            self.states.append((state, error))
        self.state, self.last_error = state, error

    async def receive_inbound(self, message: InboundMessage) -> Routed:
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database is down")
        self.inbound.append(message)
        return Routed("accepted")


@pytest.fixture
async def socket(slack: FakeSlack) -> AsyncIterator[RecordingConnection]:
    conn = RecordingConnection(_adapter(), {"bot_token": BOT_TOKEN, "app_token": APP_TOKEN})
    task = asyncio.create_task(run_socket_mode(conn, watch=0.05))
    await slack.until(lambda: conn.state == "connected")
    yield conn
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_envelope_is_acknowledged_only_after_it_was_routed(
    slack: FakeSlack, socket: RecordingConnection
) -> None:
    socket.gate.clear()
    envelope = slack.push(mention_event(f"<@{BOT}> hi", channel="C1", ts="5.5"))
    await slack.until(lambda: slack.calls("auth.test"))
    await asyncio.sleep(0.3)
    assert slack.acks == [] and socket.inbound == []
    socket.gate.set()
    await slack.until(lambda: slack.acks == [envelope])
    [message] = socket.inbound
    assert (message.text, message.thread_id, message.is_group) == ("hi", "5.5", True)


async def test_an_envelope_that_could_not_be_routed_is_not_acknowledged(
    slack: FakeSlack, socket: RecordingConnection
) -> None:
    socket.fail_next = True
    lost = slack.push(dm_event("first"))
    kept = slack.push(dm_event("second"))
    await slack.until(lambda: kept in slack.acks)
    await asyncio.sleep(0.2)
    assert lost not in slack.acks  # Slack will deliver it again
    assert [m.text for m in socket.inbound] == ["second"]


async def test_events_we_do_not_answer_are_acknowledged_and_dropped(
    slack: FakeSlack, socket: RecordingConnection
) -> None:
    ours = slack.push({**dm_event("my own reply"), "user": BOT, "bot_id": "BBOT"})
    edit = slack.push({**dm_event("edited"), "subtype": "message_changed"})
    await slack.until(lambda: {ours, edit} <= set(slack.acks))
    assert socket.inbound == []


async def test_the_listener_reconnects_after_disconnect_and_dropped_sockets(
    slack: FakeSlack, socket: RecordingConnection
) -> None:
    assert len(slack.calls("apps.connections.open")) == 1
    slack.disconnect()
    await slack.until(lambda: slack.connections_opened == 2 and len(slack.open_sockets()) == 1)
    slack.drop()
    await slack.until(lambda: slack.connections_opened == 3 and slack.open_sockets())
    await slack.until(lambda: socket.state == "connected")
    assert len(slack.calls("apps.connections.open")) == 3
    assert ("reconnecting", "") in socket.states
    envelope = slack.push(dm_event("after all that"))
    await slack.until(lambda: envelope in slack.acks)
    assert [m.text for m in socket.inbound] == ["after all that"]


async def test_a_failing_connection_open_is_retried_with_backoff_and_reported(
    slack: FakeSlack,
) -> None:
    slack.fail("apps.connections.open", Fail(status=503), Fail("invalid_auth"))
    conn = RecordingConnection(_adapter(), {"bot_token": BOT_TOKEN, "app_token": APP_TOKEN})
    task = asyncio.create_task(run_socket_mode(conn, watch=0.05))
    try:
        await slack.until(lambda: conn.state == "connected", seconds=15)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    states = [state for state, _ in conn.states]
    assert states[:3] == ["connecting", "reconnecting", "failing"]
    assert "invalid_auth" in conn.states[2][1]
    assert states[-1] == "connected"
    assert len(slack.calls("apps.connections.open")) == 3


def test_the_account_credentials_choose_socket_mode_or_webhooks() -> None:
    adapter = _adapter()
    assert listener(PlatformConnection(adapter, {"app_token": APP_TOKEN})) is not None
    assert listener(PlatformConnection(adapter, {"signing_secret": "s"})) is None
    assert listener(PlatformConnection(adapter, {})) is not None  # reports what is missing
