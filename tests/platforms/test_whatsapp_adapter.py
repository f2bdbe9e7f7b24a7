"""WhatsApp adapter: Markdown → WhatsApp markup, chunking, webhook parsing and signatures, the
Graph API calls against the fake server (error mapping, retries), and the webhook view's edges."""

import json
from collections.abc import AsyncIterator

import pytest
from django.test import AsyncClient, override_settings

from gateway.adapters.base import AdapterError, with_retries
from gateway.adapters.whatsapp import WhatsAppAdapter, parse_webhook, signature_ok
from gateway.adapters.whatsapp_text import to_whatsapp
from gateway.connections import PlatformConnection
from gateway.messages import Attachment, InboundMessage, ReplyTarget
from gateway.state import runtime
from gateway.webhooks import MAX_BODY_BYTES
from gateway.webhooks.whatsapp import _receiver
from tests.fakes.whatsapp_server import (
    TOKEN,
    Failure,
    FakeWhatsApp,
    envelope,
    image_message,
    inbound,
    signed,
    status_callback,
    text_message,
)

PHONE = "106540352242922"
APP_SECRET = "s"
USER = "16315551181"


@pytest.mark.parametrize(
    ("markdown", "whatsapp", "plain"),
    [
        ("**bold** and __bold__", "*bold* and *bold*", "bold and bold"),
        ("*italic* and _italic_", "_italic_ and _italic_", "italic and italic"),
        ("~~gone~~", "~gone~", "gone"),
        ("run `ls -l` now", "run ```ls -l``` now", "run ls -l now"),
        ("see [the docs](https://example.com/a)", "see the docs (https://example.com/a)", None),
        ("[https://x.io](https://x.io)", "https://x.io", "https://x.io"),
        ("<https://x.io/__init__>", "https://x.io/__init__", "https://x.io/__init__"),
        ("# Title\n* one\n+ two", "*Title*\n- one\n- two", "Title\n- one\n- two"),
        ("`**not bold**`", "```**not bold**```", "**not bold**"),
        ("snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4", None),
        ("> quoted", "> quoted", "> quoted"),
        ("plain text", "plain text", "plain text"),
    ],
)
def test_markdown_becomes_whatsapp_markup(markdown: str, whatsapp: str, plain: str | None) -> None:
    assert to_whatsapp(markdown) == whatsapp
    assert to_whatsapp(markdown, formatted=False) == (plain if plain is not None else whatsapp)


def test_code_fences_become_monospace_blocks_untouched_inside() -> None:
    markdown = 'Look:\n\n```python\nprint("**hi**", a_b_c)\n```\nDone *now*.'
    assert to_whatsapp(markdown) == 'Look:\n\n```\nprint("**hi**", a_b_c)\n```\nDone _now_.'
    assert to_whatsapp(markdown, formatted=False) == 'Look:\n\nprint("**hi**", a_b_c)\nDone now.'


def test_unclosed_fence_is_closed() -> None:
    assert to_whatsapp("```\nstill code") == "```\nstill code\n```"


def _adapter(options: dict[str, str] | None = None) -> WhatsAppAdapter:
    credentials = {"access_token": TOKEN, "app_secret": "s", "verify_token": "v"}
    return WhatsAppAdapter(
        "default", credentials, {"phone_number_id": PHONE} if options is None else options
    )


def test_long_answer_splits_into_chunks_that_fit_with_fences_balanced() -> None:
    code = "\n".join(f"x = {i}  # `tick`" for i in range(300))
    text = "Intro paragraph.\n\n```python\n" + code + "\n```\n\n" + "word " * 800
    chunks = _adapter().split(text)
    assert len(chunks) > 1
    for chunk in chunks:
        rendered = to_whatsapp(chunk)
        assert len(rendered) <= 4096
        assert rendered.count("```") % 2 == 0


def test_inline_code_growth_is_accounted_for_when_splitting() -> None:
    text = " ".join("`a`" for _ in range(2000))  # 7,999 chars; rendered 15,999
    chunks = _adapter().split(text)
    assert all(len(to_whatsapp(chunk)) <= 4096 for chunk in chunks)
    assert "".join(chunks).count("`a`") == 2000


@pytest.mark.parametrize(
    ("secret", "header", "ok"),
    [
        ("app-secret", None, True),
        ("app-secret", "sha256=0000", False),
        ("other", None, False),
        ("", None, False),
        ("app-secret", "", False),
        ("app-secret", "sha1=abc", False),
    ],
)
def test_signature_is_hmac_sha256_of_the_raw_body(
    secret: str, header: str | None, ok: bool
) -> None:
    body, headers = signed("app-secret", {"object": "whatsapp_business_account"})
    given = headers["X-Hub-Signature-256"] if header is None else header
    assert signature_ok(secret, body, given) is ok


def test_signature_accepts_uppercase_hex() -> None:
    body, headers = signed("k", b"{}")
    upper = "sha256=" + headers["X-Hub-Signature-256"].removeprefix("sha256=").upper()
    assert signature_ok("k", body, upper)


def test_text_message_becomes_inbound_message() -> None:
    payload = text_message(PHONE, USER, "wamid.A1", "hello there", name="Kerry")
    assert parse_webhook("default", payload) == [
        (
            PHONE,
            InboundMessage(
                channel="whatsapp",
                account="default",
                chat_id=USER,
                sender_id=USER,
                message_id="wamid.A1",
                text="hello there",
                sender_name="Kerry",
            ),
        )
    ]


@pytest.mark.parametrize(
    ("kind", "content", "unsupported"),
    [
        ("image", {"mime_type": "image/jpeg"}, "image"),  # no media id: nothing to fetch
        ("location", {"latitude": 1.0, "longitude": 2.0}, "location"),
        ("contacts", {}, "contact card"),
        ("unsupported", {}, "this kind of message"),
    ],
)
def test_content_without_a_file_is_flagged_unsupported(
    kind: str, content: dict[str, object], unsupported: str
) -> None:
    [(_, message)] = parse_webhook("default", inbound(PHONE, USER, "wamid.M", kind, content))
    assert message.unsupported == unsupported
    assert message.text == "" and message.attachments == ()


@pytest.mark.parametrize(
    ("kind", "content", "attachment"),
    [
        (
            "image",
            {"id": "1", "mime_type": "image/jpeg"},
            Attachment("1", "image.jpg", "image/jpeg", kind="image"),
        ),
        (
            "audio",
            {"id": "2", "mime_type": "audio/ogg; codecs=opus", "voice": True},
            Attachment("2", "audio", "audio/ogg", kind="voice"),
        ),
        ("audio", {"id": "3"}, Attachment("3", "audio", "", kind="audio")),
        (
            "video",
            {"id": "4", "mime_type": "video/mp4"},
            Attachment("4", "video.mp4", "video/mp4", kind="video"),
        ),
        (
            "document",
            {"id": "5", "filename": "a.pdf", "mime_type": "application/pdf"},
            Attachment("5", "a.pdf", "application/pdf", kind="document"),
        ),
        (
            "sticker",
            {"id": "6", "animated": False},
            Attachment("6", "sticker.webp", "", kind="sticker"),
        ),
    ],
)
def test_media_becomes_an_attachment(
    kind: str, content: dict[str, object], attachment: Attachment
) -> None:
    [(_, message)] = parse_webhook("default", inbound(PHONE, USER, "wamid.M", kind, content))
    assert (message.attachments, message.unsupported, message.text) == ((attachment,), "", "")


def test_an_images_caption_is_its_text() -> None:
    [(_, message)] = parse_webhook("default", image_message(PHONE, USER, "wamid.I"))
    assert (message.text, message.unsupported) == ("look", "")
    assert [a.ref for a in message.attachments] == ["1234567890"]


@pytest.mark.parametrize(
    ("kind", "content", "text"),
    [
        ("button", {"payload": "YES", "text": "Yes please"}, "Yes please"),
        ("interactive", {"type": "button_reply", "button_reply": {"id": "b", "title": "OK"}}, "OK"),
        ("interactive", {"type": "list_reply", "list_reply": {"id": "r", "title": "Row"}}, "Row"),
    ],
)
def test_tapped_buttons_read_as_text(kind: str, content: dict[str, object], text: str) -> None:
    [(_, message)] = parse_webhook("default", inbound(PHONE, USER, "wamid.B", kind, content))
    assert (message.text, message.unsupported) == (text, "")


@pytest.mark.parametrize(
    "payload",
    [
        status_callback(PHONE, USER, "wamid.S"),
        inbound(PHONE, USER, "wamid.R", "reaction", {"message_id": "wamid.X", "emoji": "👍"}),
        inbound(PHONE, USER, "wamid.Y", "system", {"body": "number changed"}),
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"entry": [{"changes": [{"field": "account_update", "value": {"messages": []}}]}]},
        {"entry": [{"changes": [{"field": "messages", "value": {"messages": [{"id": "x"}]}}]}]},
        {"entry": [None, 3, {"changes": [None]}]},
        {},
    ],
)
def test_status_callbacks_reactions_and_junk_yield_nothing(payload: dict[str, object]) -> None:
    assert parse_webhook("default", payload) == []


def _raw_message(**fields: object) -> dict[str, object]:
    message = {"from": USER, "id": "wamid.T", "type": "text", "text": {"body": "hi"}} | fields
    return envelope(PHONE, {"messages": [message]})


@pytest.mark.parametrize(
    "fields",
    [  # found by the webhook fuzzer: a list or a dict as `type` was a 500
        {"type": []},
        {"type": {"a": 1}},
        {"type": None},
        {"text": {"body": ["not", "text"]}},
        {"text": {"body": 7}},
        {"type": "interactive", "interactive": {"button_reply": {"title": 3}}},
    ],
)
def test_fields_of_the_wrong_type_are_not_text(fields: dict[str, object]) -> None:
    [(_, message)] = parse_webhook("default", _raw_message(**fields))
    assert (message.text, message.unsupported) == ("", "this kind of message")


@pytest.mark.parametrize(
    "fields", [{"from": None}, {"from": 15550001}, {"id": ["w"]}, {"id": None}]
)
def test_a_sender_or_id_that_is_not_a_string_yields_nothing(fields: dict[str, object]) -> None:
    assert parse_webhook("default", _raw_message(**fields)) == []


def test_every_entry_and_change_is_read_in_order() -> None:
    first = text_message(PHONE, USER, "wamid.1", "one")
    second = envelope(
        "999",
        {"messages": [{"from": "42", "id": "wamid.2", "type": "text", "text": {"body": "two"}}]},
    )
    payload = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"]}
    found = parse_webhook("default", payload)
    assert [(number, m.message_id, m.text) for number, m in found] == [
        (PHONE, "wamid.1", "one"),
        ("999", "wamid.2", "two"),
    ]
    assert found[1][1].sender_name == ""


# --- the Graph API, against the fake ----------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as server:
        with override_settings(WHATSAPP_API_URL=server.api_url):
            yield server


async def test_send_posts_a_text_message_and_returns_its_wamid(fake: FakeWhatsApp) -> None:
    adapter = _adapter()
    try:
        message_id = await adapter.send(ReplyTarget(USER, reply_to="wamid.IN"), "**hi**")
    finally:
        await adapter.close()
    assert message_id.startswith("wamid.")
    [request] = fake.requests
    assert request.phone_number_id == PHONE
    assert request.authorization == f"Bearer {TOKEN}"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "text",
        "text": {"preview_url": False, "body": "*hi*"},
    }


async def test_unformatted_send_strips_markup(fake: FakeWhatsApp) -> None:
    adapter = _adapter()
    await adapter.send(ReplyTarget(USER), "**hi** `x`", formatted=False)
    await adapter.close()
    assert fake.sends[0]["text"]["body"] == "hi x"


async def test_typing_marks_the_message_read_with_an_indicator(fake: FakeWhatsApp) -> None:
    adapter = _adapter()
    await adapter.typing(ReplyTarget(USER, reply_to="wamid.IN"))
    await adapter.typing(ReplyTarget(USER))  # nothing to mark: no call
    await adapter.close()
    assert [r.body for r in fake.requests] == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.IN",
            "typing_indicator": {"type": "text"},
        }
    ]


@pytest.mark.parametrize(
    ("failure", "permanent", "retry_after"),
    [
        (Failure.rate_limit(retry_after=0.2), False, 0.2),
        (Failure.rate_limit(retry_after=None, code=80007), False, 2.0),
        (Failure(400, 130429, "(#130429) Rate limit hit"), False, 2.0),
        (Failure.invalid_token(), True, None),
        (Failure.recipient_not_allowed(), True, None),
        (Failure.server_error(), False, None),
        (Failure(500, 1, "An unknown error occurred"), False, None),
        (Failure(400, 100, "(#100) Invalid parameter"), True, None),
    ],
)
async def test_graph_errors_say_whether_retrying_helps(
    fake: FakeWhatsApp, failure: Failure, permanent: bool, retry_after: float | None
) -> None:
    fake.fail(failure)
    adapter = _adapter()
    with pytest.raises(AdapterError) as caught:
        await adapter.send(ReplyTarget(USER), "hi")
    await adapter.close()
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after
    assert str(failure.code) in str(caught.value)
    assert TOKEN not in str(caught.value)


async def test_rate_limited_send_is_retried_and_delivered_once(fake: FakeWhatsApp) -> None:
    fake.fail(Failure.rate_limit(retry_after=0.05), Failure.server_error())
    adapter = _adapter()
    await with_retries(lambda: adapter.send(ReplyTarget(USER), "hello"), base_delay=0.01)
    await adapter.close()
    assert [r.status for r in fake.text_attempts] == [429, 503, 200]
    assert len(fake.sends) == 1


async def test_bad_token_is_permanent(fake: FakeWhatsApp) -> None:
    adapter = WhatsAppAdapter("default", {"access_token": "wrong"}, {"phone_number_id": PHONE})
    with pytest.raises(AdapterError) as caught:
        await with_retries(lambda: adapter.send(ReplyTarget(USER), "hi"))
    await adapter.close()
    assert caught.value.permanent
    assert "access token rejected" in str(caught.value)
    assert len(fake.requests) == 1


async def test_unreachable_api_is_transient() -> None:
    async with FakeWhatsApp() as server:
        url = server.api_url
    with override_settings(WHATSAPP_API_URL=url):
        adapter = _adapter()
        with pytest.raises(AdapterError) as caught:
            await adapter.send(ReplyTarget(USER), "hi")
        await adapter.close()
    assert not caught.value.permanent


async def test_missing_phone_number_id_is_permanent() -> None:
    adapter = _adapter(options={})
    with pytest.raises(AdapterError, match="WHATSAPP_PHONE_NUMBER_ID") as caught:
        await adapter.send(ReplyTarget(USER), "hi")
    assert caught.value.permanent


def test_numeric_account_id_is_its_phone_number_id() -> None:
    assert WhatsAppAdapter("12345", {}, {}).phone_number_id == "12345"
    assert WhatsAppAdapter("shop", {}, {"phone_number_id": "777"}).phone_number_id == "777"


def test_signed_helper_signs_exact_bytes() -> None:
    body, headers = signed("k", {"a": 1})
    assert json.loads(body) == {"a": 1}
    assert signature_ok("k", body, headers["X-Hub-Signature-256"])


# --- the webhook view's edges, in process (no database needed) ------------------------------


def _connection(phone: str, secret: str = APP_SECRET) -> PlatformConnection:
    credentials = {"access_token": TOKEN, "app_secret": secret, "verify_token": "v"}
    adapter = WhatsAppAdapter(phone, credentials, {"phone_number_id": phone})
    return PlatformConnection(adapter, credentials)


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], PlatformConnection]:
    connections = {("whatsapp", "default"): _connection(PHONE)}
    monkeypatch.setattr(runtime, "connections", connections)
    monkeypatch.setattr(runtime, "state", "running")
    return connections


def test_messages_go_to_the_account_of_the_receiving_number(
    running: dict[tuple[str, str], PlatformConnection],
) -> None:
    here = running["whatsapp", "default"]
    other = running["whatsapp", "222"] = _connection("222")
    elsewhere = running["whatsapp", "444"] = _connection("444", secret="another app")
    assert _receiver(here, PHONE) is here
    assert _receiver(here, "") is here
    assert _receiver(here, "222") is other
    assert _receiver(here, "333") is None
    assert _receiver(here, "444") is None  # signed with another app's secret: not ours to route
    assert _receiver(elsewhere, "444") is elsewhere


async def test_webhook_answers_503_until_the_runtime_runs() -> None:
    response = await AsyncClient().get("/webhooks/whatsapp/")
    assert response.status_code == 503


async def test_webhook_edges(running: dict[tuple[str, str], PlatformConnection]) -> None:
    client = AsyncClient()
    assert (await client.get("/webhooks/whatsapp/nobody/")).status_code == 404
    assert (await client.put("/webhooks/whatsapp/")).status_code == 405
    big = b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}"
    body, headers = signed(APP_SECRET, big)
    response = await client.post(
        "/webhooks/whatsapp/", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 413
    body, headers = signed(APP_SECRET, b"[1, 2]")
    response = await client.post(
        "/webhooks/whatsapp/", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    response = await client.get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "42"},
    )
    assert (response.status_code, response.content) == (200, b"42")


def test_the_webhook_answers_without_a_trailing_slash() -> None:
    from django.urls import resolve

    from gateway.webhooks import telegram, whatsapp

    assert resolve("/webhooks/whatsapp").func is whatsapp.webhook
    assert resolve("/webhooks/telegram").func is telegram.update
    assert resolve("/webhooks/slack/events").url_name == "slack-events"
