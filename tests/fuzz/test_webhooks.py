"""Fuzzing the platform webhooks over HTTP on a real gateway (Slack Events API, Telegram,
WhatsApp): random bodies (JSON and not, near-valid payloads, oversized), header sets and
content types, signed correctly (so the parser behind the signature runs) or not. Never a 5xx,
never a traceback in the response, every request answered within the client's timeout; and
afterwards a valid message on each platform is still answered by a turn."""

import contextlib
import hashlib
import hmac
import json
import os
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import BOT_TOKEN, FakeSlack, dm_event, event_callback
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.whatsapp_server import FakeWhatsApp, text_message
from tests.gateway_process import ROOT, Gateway

SLACK_SECRET = "fuzz-slack-signing-secret"
TELEGRAM_TOKEN = "123:fake"
TELEGRAM_SECRET = "fuzz-telegram-secret"
WA_SECRET = "fuzz-whatsapp-app-secret"
WA_PHONE = "106540352242922"
# OPENCLAW_FUZZ_EXAMPLES raises the count for a longer hunt (docs/reliability.md has figures);
# pytest-timeout bounds a whole test, every example included, so it grows with the count.
EXAMPLE_COUNT = int(os.environ.get("OPENCLAW_FUZZ_EXAMPLES", "120"))
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(max(120, EXAMPLE_COUNT))]
EXAMPLES = settings(
    max_examples=EXAMPLE_COUNT,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class Platforms:
    gateway: Gateway
    slack: FakeSlack
    telegram: FakeTelegram
    whatsapp: FakeWhatsApp
    model: FakeOpenAI


@pytest.fixture(scope="module")
def platforms(migrated_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platforms]:
    """One gateway taking webhooks for all three platforms, each answered by its fake."""
    import subprocess
    import sys

    with (
        FakeOpenAI() as model,
        FakeSlack() as slack,
        FakeTelegram(token=TELEGRAM_TOKEN) as telegram,
        FakeWhatsApp() as whatsapp,
    ):
        factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("webhook-fuzz"), model)
        gateway = factory(
            start=False,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SLACK_SECRET,
            SLACK_API_URL=slack.api_url,
            TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
            TELEGRAM_WEBHOOK_URL="https://bot.example.com",
            TELEGRAM_API_URL=telegram.url,
            WHATSAPP_ACCESS_TOKEN=whatsapp.access_token,
            WHATSAPP_APP_SECRET=WA_SECRET,
            WHATSAPP_VERIFY_TOKEN="fuzz-verify",
            WHATSAPP_PHONE_NUMBER_ID=WA_PHONE,
            WHATSAPP_API_URL=whatsapp.api_url,
            OPENCLAW_INBOUND_RATE_PER_SENDER="100000/minute",
            OPENCLAW_INBOUND_RATE_PER_ACCOUNT="100000/minute",
        )
        code = (
            "from gateway.platforms import ensure_default_accounts; "
            "from gateway.models import ChannelAccount; ensure_default_accounts(); "
            "ChannelAccount.objects.update(dm_policy='open')"
        )
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=gateway.env,
            check=True,
            timeout=120,
        )
        gateway.start()
        try:
            yield Platforms(gateway, slack, telegram, whatsapp, model)
        finally:
            factory.close()


# --- what the fuzzer sends ----------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=15,
)


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A real payload with some keys replaced by random values, dropped, or added."""
    keys = st.sampled_from(sorted(base))
    return st.tuples(
        st.dictionaries(keys, values, max_size=3),
        st.lists(keys, max_size=2),
        st.dictionaries(st.text(max_size=8), values, max_size=2),
    ).map(lambda t: {k: v for k, v in {**base, **t[0], **t[2]}.items() if k not in t[1]})


def slack_payloads() -> st.SearchStrategy[Any]:
    event = dm_event("hello from the fuzzer", user="UFUZZ", channel="DFUZZ")
    return st.one_of(
        values,
        mutated(event).map(event_callback),
        mutated(event_callback(event)),
        st.builds(lambda c: {"type": "url_verification", "challenge": c}, values),
    )


def telegram_payloads() -> st.SearchStrategy[Any]:
    message = {
        "message_id": 7,
        "from": {"id": 900, "is_bot": False, "first_name": "Fuzz"},
        "chat": {"id": 900, "type": "private"},
        "date": 1_700_000_000,
        "text": "hello from the fuzzer",
    }
    kinds = st.sampled_from(["message", "edited_message", "channel_post", "callback_query"])
    return st.one_of(
        values,
        st.builds(lambda i, k, m: {"update_id": i, k: m}, values, kinds, mutated(message)),
        mutated({"update_id": 5, "message": message}),
    )


def whatsapp_payloads() -> st.SearchStrategy[Any]:
    real = text_message(WA_PHONE, "15550009999", "wamid.FUZZ", "hello from the fuzzer")
    value = real["entry"][0]["changes"][0]["value"]
    return st.one_of(
        values,
        mutated(real),
        mutated(value).map(
            lambda v: {
                "object": "whatsapp_business_account",
                "entry": [{"changes": [{"field": "messages", "value": v}]}],
            }
        ),
        mutated(value["messages"][0]).map(
            lambda m: {
                **real,
                "entry": [
                    {
                        "id": "W",
                        "changes": [{"field": "messages", "value": {**value, "messages": [m]}}],
                    }
                ],
            }
        ),
    )


def encoded(payloads: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """JSON of a payload, or bytes that are not JSON, or an oversized body."""
    return st.one_of(
        payloads.map(lambda p: json.dumps(p).encode()),
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
        st.sampled_from([1024 * 1024 + 1, 3 * 1024 * 1024]).map(lambda n: b"{" + b" " * n + b"}"),
    )


content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=bogus-charset",
        "\x00",
    ]
)
extra_headers = st.dictionaries(
    st.sampled_from(
        ["X-Slack-Retry-Num", "X-Slack-Retry-Reason", "User-Agent", "Accept", "X-Forwarded-For"]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    max_size=3,
)
# How the request is signed: right, with a wrong key, garbage, not at all; Slack also stale.
signing = st.sampled_from(["valid", "wrong", "garbage", "missing", "stale"])
printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


def slack_headers(body: bytes, mode: str, garbage: str) -> dict[str, str]:
    if mode == "missing":
        return {}
    stamp = str(int(time.time() - (600 if mode == "stale" else 0)))
    secret = SLACK_SECRET if mode in ("valid", "stale") else "not-the-secret"
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    signature = "v0=" + digest.hexdigest()
    if mode == "garbage":
        return {"X-Slack-Request-Timestamp": garbage, "X-Slack-Signature": garbage}
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def telegram_headers(body: bytes, mode: str, garbage: str) -> dict[str, str]:
    secret = {"valid": TELEGRAM_SECRET, "stale": TELEGRAM_SECRET, "wrong": "nope"}.get(
        mode, garbage
    )
    return {} if mode == "missing" else {"X-Telegram-Bot-Api-Secret-Token": secret}


def whatsapp_headers(body: bytes, mode: str, garbage: str) -> dict[str, str]:
    if mode == "missing":
        return {}
    if mode == "garbage":
        return {"X-Hub-Signature-256": garbage}
    secret = WA_SECRET if mode in ("valid", "stale") else "not-the-secret"
    return {
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    }


@dataclass(frozen=True)
class Answer:
    """A response, whether httpx or a bare socket carried the request (httpx refuses to send
    some headers, a NUL for one: then the request goes out by hand)."""

    status_code: int
    text: str
    header_names: frozenset[str]

    @property
    def refused_by_server(self) -> bool:
        """Twisted's own bare 400 (no headers, no body), sent before Daphne or any view runs:
        for a header it cannot parse, or a multipart body that does not parse (Twisted reads
        multipart POST bodies itself); or a hang-up with no answer (status 0) after such a
        header. Our views always answer with a Content-Type."""
        bare = not self.text and "content-type" not in self.header_names
        return self.status_code in (0, 400) and bare


def post_raw(gateway: Gateway, path: str, body: bytes, headers: dict[str, str]) -> Answer:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1", "replace") + b"\r\n")
        # Twisted refuses a header it cannot parse at once and hangs up: then the body (up to
        # 3 MB) is not sent, or sending it would fail with a broken pipe.
        answered_early, _, _ = select.select([sock], [], [], 0.2)
        if not answered_early:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(body)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    if not received:  # hung up without a word: the request never reached Daphne or a view
        return Answer(0, "", frozenset())
    head_bytes, _, content = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.split(b"\r\n")
    assert status_line.startswith(b"HTTP/1."), received[:200]
    names = frozenset(line.partition(b":")[0].strip().lower().decode() for line in header_lines)
    return Answer(int(status_line.split()[1]), content.decode("utf-8", "replace"), names)


def answer(response: httpx.Response) -> Answer:
    return Answer(response.status_code, response.text, frozenset(response.headers.keys()))


def post(
    gateway: Gateway, path: str, body: bytes, headers: dict[str, str], content_type: str | None
) -> Answer:
    if content_type is not None:
        headers = {**headers, "Content-Type": content_type}
    try:
        # The timeout is the bound: a request the gateway never answers fails the test.
        response = httpx.post(gateway.url + path, content=body, headers=headers, timeout=30)
    except httpx.LocalProtocolError:  # a header httpx will not send: send it by hand
        return post_raw(gateway, path, body, headers)
    return answer(response)


def check(response: Answer) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text and 'File "' not in response.text, response.text[:500]


# --- the tests ----------------------------------------------------------------------------


@EXAMPLES
@given(
    body=encoded(slack_payloads()),
    mode=signing,
    garbage=printable,
    content_type=content_types,
    extra=extra_headers,
)
def test_slack_events_webhook_survives_anything(
    platforms: Platforms,
    body: bytes,
    mode: str,
    garbage: str,
    content_type: str | None,
    extra: dict[str, str],
) -> None:
    headers = {**extra, **slack_headers(body, mode, garbage)}
    response = post(platforms.gateway, "/webhooks/slack/events", body, headers, content_type)
    check(response)
    if mode != "valid" and not response.refused_by_server:
        assert response.status_code in (400, 401, 403, 413), response.status_code


@EXAMPLES
@given(
    body=encoded(telegram_payloads()),
    mode=signing,
    garbage=printable,
    content_type=content_types,
    extra=extra_headers,
)
def test_telegram_webhook_survives_anything(
    platforms: Platforms,
    body: bytes,
    mode: str,
    garbage: str,
    content_type: str | None,
    extra: dict[str, str],
) -> None:
    headers = {**extra, **telegram_headers(body, mode, garbage)}
    response = post(platforms.gateway, "/webhooks/telegram/", body, headers, content_type)
    check(response)
    if mode in ("wrong", "missing") and not response.refused_by_server:
        assert response.status_code in (401, 413), response.status_code


@EXAMPLES
@given(
    body=encoded(whatsapp_payloads()),
    mode=signing,
    garbage=printable,
    content_type=content_types,
    extra=extra_headers,
)
def test_whatsapp_webhook_survives_anything(
    platforms: Platforms,
    body: bytes,
    mode: str,
    garbage: str,
    content_type: str | None,
    extra: dict[str, str],
) -> None:
    headers = {**extra, **whatsapp_headers(body, mode, garbage)}
    response = post(platforms.gateway, "/webhooks/whatsapp/", body, headers, content_type)
    check(response)
    if mode not in ("valid", "stale") and not response.refused_by_server:
        assert response.status_code in (400, 401, 413), response.status_code


@EXAMPLES
@given(
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
        printable,
        max_size=4,
    )
)
def test_whatsapp_subscription_check_survives_anything(
    platforms: Platforms, query: dict[str, str]
) -> None:
    got = httpx.get(platforms.gateway.url + "/webhooks/whatsapp/", params=query, timeout=30)
    response = answer(got)
    check(response)
    assert response.status_code in (200, 403)


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024])
def test_an_oversized_body_is_refused_with_413_on_every_platform(
    platforms: Platforms, size: int
) -> None:
    body = b"{" + b" " * size + b"}"
    sent = [
        ("/webhooks/slack/events", slack_headers(body, "valid", "")),
        ("/webhooks/telegram/", telegram_headers(body, "valid", "")),
        ("/webhooks/whatsapp/", whatsapp_headers(body, "valid", "")),
    ]
    for path, headers in sent:
        response = post(platforms.gateway, path, body, headers, "application/json")
        assert response.status_code == 413, (path, response)


@pytest.mark.parametrize("size", [0, 3 * 1024 * 1024])
def test_a_header_twisted_cannot_parse_is_refused_before_any_view(
    platforms: Platforms, size: int
) -> None:
    """A NUL in Content-Type, with no body or a big one (the case hypothesis found: Twisted
    hangs up while the body is still being sent)."""
    body = b"{" + b" " * size + b"}"
    for path in ("/webhooks/slack/events", "/webhooks/telegram/", "/webhooks/whatsapp/"):
        response = post(platforms.gateway, path, body, {}, "\x00")
        check(response)
        assert response.refused_by_server, (path, response)


def test_deeply_nested_signed_json_is_a_400_on_every_platform(platforms: Platforms) -> None:
    """Past the JSON parser's depth, correctly signed: a malformed body (400), never a 500."""
    body = b"[" * 200_000 + b"]" * 200_000
    body = body[: 1024 * 1024 - 2]  # under the size cap: the parser, not the cap, must refuse it
    sent = [
        ("/webhooks/slack/events", slack_headers(body, "valid", "")),
        ("/webhooks/telegram/", telegram_headers(body, "valid", "")),
        ("/webhooks/whatsapp/", whatsapp_headers(body, "valid", "")),
    ]
    for path, headers in sent:
        response = post(platforms.gateway, path, body, headers, "application/json")
        check(response)
        assert response.status_code == 400, (path, response)


def test_a_chunked_body_over_the_cap_is_refused(platforms: Platforms) -> None:
    """No Content-Length to judge by: the body is counted as it reaches the application and
    refused at the cap, before any view, signature check or parser sees it."""

    def chunks() -> Iterator[bytes]:
        for _ in range(48):
            yield b" " * 0x10000  # 3 MiB in all

    for path in ("/webhooks/slack/events", "/webhooks/telegram/", "/webhooks/whatsapp/"):
        response = httpx.post(platforms.gateway.url + path, content=chunks(), timeout=30)
        assert response.status_code == 413, (path, response.status_code)


def test_after_the_fuzzing_every_platform_still_answers(platforms: Platforms) -> None:
    """Runs after the fuzz tests (file order): the lanes and connections are not stuck."""
    gateway = platforms.gateway
    event = dm_event("after the storm", user="UAFTER", channel="DAFTER")
    body = json.dumps(event_callback(event)).encode()
    response = post(
        gateway,
        "/webhooks/slack/events",
        body,
        slack_headers(body, "valid", ""),
        "application/json",
    )
    assert response.status_code == 200
    platforms.slack.wait(
        lambda: "echo: after the storm" in platforms.slack.final_texts("DAFTER"), 30
    )

    update = {"update_id": 10**9, "message": platforms.telegram.text(4_000_001, "after the storm")}
    body = json.dumps(update).encode()
    response = post(
        gateway,
        "/webhooks/telegram/",
        body,
        telegram_headers(body, "valid", ""),
        "application/json",
    )
    assert response.status_code == 200
    platforms.telegram.wait_for(
        lambda: (
            [m.text for m in platforms.telegram.messages(4_000_001)] == ["echo: after the storm"]
        ),
        30,
    )

    payload = text_message(WA_PHONE, "15550000001", "wamid.AFTER", "after the storm")
    body = json.dumps(payload).encode()
    response = post(
        gateway,
        "/webhooks/whatsapp/",
        body,
        whatsapp_headers(body, "valid", ""),
        "application/json",
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 30
    while platforms.whatsapp.texts_to("15550000001") != ["echo: after the storm"]:
        assert time.monotonic() < deadline, platforms.whatsapp.texts_to("15550000001")
        time.sleep(0.05)
    assert gateway.proc is not None and gateway.proc.poll() is None
    assert "Internal Server Error" not in gateway.output()
    status, ready = gateway.get("/readyz")
    assert status == 200, ready


def test_after_the_fuzzing_the_fuzzed_conversations_still_answer(platforms: Platforms) -> None:
    """The sessions the fuzzer wrote to (valid signatures, near-valid payloads) have their lane
    free: a real message from the same sender in the same chat gets its answer."""
    gateway = platforms.gateway
    text = "fuzzed lane still free"
    event = dm_event(text, user="UFUZZ", channel="DFUZZ")
    body = json.dumps(event_callback(event)).encode()
    slack = post(gateway, "/webhooks/slack/events", body, slack_headers(body, "valid", ""), None)
    assert slack.status_code == 200, slack

    message = platforms.telegram.text(900, text, message_id=2_000_000_001)
    body = json.dumps({"update_id": 2_000_000_001, "message": message}).encode()
    headers = telegram_headers(body, "valid", "")
    telegram = post(gateway, "/webhooks/telegram/", body, headers, "application/json")
    assert telegram.status_code == 200, telegram

    payload = text_message(WA_PHONE, "15550009999", "wamid.FUZZ-AFTER", text)
    body = json.dumps(payload).encode()
    headers = whatsapp_headers(body, "valid", "")
    whatsapp = post(gateway, "/webhooks/whatsapp/", body, headers, "application/json")
    assert whatsapp.status_code == 200, whatsapp

    def answered(texts: list[str]) -> bool:  # a queued fuzz message may share the turn
        return any(text in t for t in texts)

    platforms.slack.wait(lambda: answered(platforms.slack.final_texts("DFUZZ")), 60)
    platforms.telegram.wait_for(
        lambda: answered([m.text for m in platforms.telegram.messages(900)]), 60
    )
    deadline = time.monotonic() + 60
    while not answered(platforms.whatsapp.texts_to("15550009999")):
        assert time.monotonic() < deadline, platforms.whatsapp.texts_to("15550009999")[-5:]
        time.sleep(0.05)
    status, ready = gateway.get("/readyz")
    assert status == 200, ready
