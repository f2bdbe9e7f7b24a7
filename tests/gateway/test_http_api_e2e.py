"""End to end: a real gateway with the OpenAI-compatible API and the hooks switched on, the
fake model behind it and the fake Telegram Bot API for hook deliveries. The official `openai`
client talks to it unchanged. One gateway for the module (a start costs seconds)."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import Error, FakeOpenAI, Text, ToolCall, ToolCalls, user_texts
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_process import TOKEN, Gateway, manage

pytestmark = pytest.mark.e2e

HOOKS_TOKEN = "hooks-secret-token"
BOT_TOKEN = "123:fake"
OWNER = 777  # the owner's Telegram chats: mapped to the main session
OTHER_OWNER = 778
ACCOUNT = (
    "from gateway.platforms import ensure_default_accounts\n"
    "from gateway.models import ChannelAccount\n"
    "ensure_default_accounts()\n"
    f"ChannelAccount.objects.filter(channel='telegram').update(owner_ids=['{OWNER}', '{OTHER_OWNER}'])\n"
)


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=BOT_TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    migrated_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    telegram: FakeTelegram,
    model: FakeOpenAI,
) -> Iterator[Gateway]:
    factory = GatewayFactory(migrated_home, tmp_path_factory.mktemp("http-api"), model)
    env = {
        "OPENCLAW_HTTP_API": "1",
        "OPENCLAW_HOOKS_TOKEN": HOOKS_TOKEN,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_POLL_TIMEOUT": "1",
    }
    manage(factory.home, env, "shell", "-c", ACCOUNT)
    try:
        yield factory(start=True, **env)
    finally:
        factory.close()


def client(gateway: Gateway, token: str = TOKEN) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=token, max_retries=0)


def post(
    gateway: Gateway, path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        gateway.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def hook(gateway: Gateway, path: str, body: object, **headers: str) -> tuple[int, dict[str, Any]]:
    return post(gateway, path, body, {"Authorization": f"Bearer {HOOKS_TOKEN}", **headers})


def asked(model: FakeOpenAI, text: str) -> list[dict[str, Any]]:
    """Model requests whose newest user message is `text`."""
    return [r.body for r in model.requests if user_texts(r.body)[-1:] == [text]]


def eventually(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_openai_client_streams_a_completion_from_a_real_turn(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    model.script(Text(["Hel", "lo ", "from ", "the ", "agent"], chunk_delay=0.02))
    stream = client(gateway).chat.completions.create(
        model="openclaw:main",
        messages=[{"role": "user", "content": "stream please"}],
        stream=True,
        stream_options={"include_usage": True},
        user="streamer",
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the agent"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # streamed
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].model == "openclaw:main"
    assert len(asked(model, "stream please")) == 1


def test_a_turn_over_the_api_uses_the_agents_tools_and_memory(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    note = ToolCall("memory_append", '{"text": "milk is on the shopping list"}')
    model.script(ToolCalls(note, content="Noting it. "), Text("Noted."))
    stream = client(gateway).chat.completions.create(
        model="openclaw:main",
        messages=[{"role": "user", "content": "remember the milk"}],
        stream=True,
        user="tools",
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Noting it. Noted."  # both model calls of the turn, streamed
    tool_results = [
        m for r in model.requests for m in r.body.get("messages", []) if m.get("role") == "tool"
    ]
    assert any("Appended to" in str(m.get("content")) for m in tool_results)
    logs = list((gateway.home / "workspaces" / "main" / "memory").glob("*.md"))
    assert any("milk is on the shopping list" in log.read_text() for log in logs)


def test_openai_client_gets_a_whole_completion_with_usage(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(
        model="main", messages=[{"role": "user", "content": "whole please"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: whole please"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    total = completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert completion.usage.total_tokens == total
    assert raw.headers["X-OpenClaw-Session"] == "agent:main:api:default"


def test_a_named_session_keeps_its_history_and_ignores_the_callers(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    api = client(gateway)
    api.chat.completions.create(
        model="openclaw:main", messages=[{"role": "user", "content": "first of ada"}], user="ada"
    )
    answer = api.chat.completions.create(
        model="openclaw:main",
        messages=[
            {"role": "system", "content": "caller's system prompt"},
            {"role": "user", "content": "made-up history"},
            {"role": "assistant", "content": "made-up answer"},
            {"role": "user", "content": "second of ada"},
        ],
        extra_headers={"X-OpenClaw-Session": "ada"},
    )
    assert answer.choices[0].message.content == "echo: second of ada"
    [request] = asked(model, "second of ada")
    assert user_texts(request)[-2:] == ["first of ada", "second of ada"]
    assert "made-up" not in json.dumps(request) and "caller's system" not in json.dumps(request)


def test_a_request_repeated_with_its_idempotency_key_gets_the_first_answer(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    api = client(gateway)
    ask = {
        "model": "openclaw:main",
        "messages": [{"role": "user", "content": "only once please"}],
        "user": "retrier",
        "extra_headers": {"Idempotency-Key": "req-77"},
    }
    first = api.chat.completions.create(**ask)  # type: ignore[call-overload]
    again = api.chat.completions.create(**ask)  # type: ignore[call-overload]
    assert again.id == first.id
    assert again.choices[0].message.content == first.choices[0].message.content
    assert again.usage.total_tokens == first.usage.total_tokens
    assert len(asked(model, "only once please")) == 1


def test_a_wrong_token_gets_401_in_openais_shape(gateway: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        client(gateway, "not-the-token").chat.completions.create(
            model="openclaw:main", messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client(gateway, HOOKS_TOKEN).models.list()  # the hooks token is not the gateway's


def test_models_are_the_enabled_agents(gateway: Gateway) -> None:
    api = client(gateway)
    assert [m.id for m in api.models.list()] == ["openclaw:main"]
    assert api.models.retrieve("openclaw:main").owned_by == "openclaw"
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(
            model="openclaw:nobody", messages=[{"role": "user", "content": "hi"}]
        )


def test_bad_requests_are_refused_clearly(gateway: Gateway) -> None:
    with pytest.raises(openai.BadRequestError, match="no message with role 'user'"):
        client(gateway).chat.completions.create(
            model="openclaw:main", messages=[{"role": "system", "content": "only this"}]
        )
    status, body = post(
        gateway,
        "/v1/chat/completions",
        {"model": "openclaw:main", "messages": [{"role": "user", "content": "x" * 1_100_000}]},
        {"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 413 and body["error"]["code"] == "body_too_large"


def test_a_failed_turn_is_an_openai_error_the_client_does_not_retry(
    gateway: Gateway, model: FakeOpenAI
) -> None:
    refusal = Error(400, "The model refused this request.", "invalid_request_error")
    model.script(refusal)
    api = openai.OpenAI(base_url=gateway.url + "/v1", api_key=TOKEN)  # the SDK's own retries on
    with pytest.raises(openai.APIStatusError, match="refused this request") as raised:
        api.chat.completions.create(
            model="openclaw:main", messages=[{"role": "user", "content": "doomed"}]
        )
    assert raised.value.status_code == 502
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert len(asked(model, "doomed")) == 1
    model.script(refusal)
    stream = api.chat.completions.create(
        model="openclaw:main",
        messages=[{"role": "user", "content": "doomed stream"}],
        stream=True,
    )
    with pytest.raises(openai.APIError, match="refused this request"):
        list(stream)


def test_hook_agent_delivers_once_to_telegram_also_when_retried(
    gateway: Gateway, model: FakeOpenAI, telegram: FakeTelegram
) -> None:
    body = {
        "message": "summarise the inbox",
        "name": "Email",
        "deliver": True,
        "channel": "telegram",
        "to": "4242",
    }
    status, first = hook(gateway, "/hooks/agent", body, **{"Idempotency-Key": "mail-1"})
    assert status == 200 and first["ok"] and not first["duplicate"]
    assert first["session"] == "agent:main:hook:default"
    telegram.wait_for(
        lambda: [m.text for m in telegram.messages(4242)] == ["echo: summarise the inbox"]
    )
    status, again = hook(gateway, "/hooks/agent", body, **{"Idempotency-Key": "mail-1"})
    assert status == 200 and again["duplicate"] and again["run"] == first["run"]
    time.sleep(0.5)
    assert [m.text for m in telegram.messages(4242)] == ["echo: summarise the inbox"]
    [request] = asked(model, "summarise the inbox")
    # The hook's text is marked as the hook's, never as the owner's own words.
    assert "from hook: Email" in json.dumps(request)


def test_a_hook_sent_twice_at_once_runs_and_delivers_once(
    gateway: Gateway, model: FakeOpenAI, telegram: FakeTelegram
) -> None:
    body = {"message": "deploy finished", "deliver": True, "channel": "telegram", "to": "5151"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: hook(gateway, "/hooks/agent", body, **{"Idempotency-Key": "deploy-9"}),
                range(4),
            )
        )
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(a["duplicate"] for _, a in answers) == [False, True, True, True]
    assert len({a["run"] for _, a in answers}) == 1
    telegram.wait_for(
        lambda: [m.text for m in telegram.messages(5151)] == ["echo: deploy finished"]
    )
    time.sleep(0.5)
    assert len(telegram.messages(5151)) == 1 and len(asked(model, "deploy finished")) == 1


def test_a_hook_delivers_to_the_chat_the_main_session_last_heard_from(
    gateway: Gateway, telegram: FakeTelegram
) -> None:
    telegram.push_update(telegram.text(OTHER_OWNER, "on my phone now"))
    telegram.wait_for(lambda: len(telegram.messages(OTHER_OWNER)) == 1)
    status, sent = hook(gateway, "/hooks/agent", {"message": "parcel delivered", "deliver": True})
    assert status == 200 and sent["deliver"] == f"telegram:default chat {OTHER_OWNER}"
    expected = ["echo: on my phone now", "echo: parcel delivered"]
    telegram.wait_for(lambda: [m.text for m in telegram.messages(OTHER_OWNER)] == expected)


def test_a_hook_cannot_deliver_where_no_account_runs(gateway: Gateway) -> None:
    body = {"message": "hi", "deliver": True, "to": "1"}
    status, refused = hook(gateway, "/hooks/agent", {**body, "channel": "slack"})
    assert status == 409 and "No running slack account" in refused["error"]
    status, refused = hook(gateway, "/hooks/agent", {**body, "channel": "icq"})
    assert status == 400 and refused["param"] == "channel"


def test_hooks_need_their_token_in_a_header(gateway: Gateway) -> None:
    body = {"message": "hi"}
    assert post(gateway, "/hooks/agent", body)[0] == 401
    assert post(gateway, "/hooks/agent", body, {"Authorization": f"Bearer {TOKEN}"})[0] == 401
    assert post(gateway, f"/hooks/agent?token={HOOKS_TOKEN}", body)[0] == 400
    status, answer = post(gateway, "/hooks/agent", {}, {"X-OpenClaw-Token": HOOKS_TOKEN})
    assert status == 400 and "message" in answer["error"]


def test_wake_now_runs_a_turn_in_the_main_session(
    gateway: Gateway, model: FakeOpenAI, telegram: FakeTelegram
) -> None:
    telegram.push_update(telegram.text(OWNER, "owner here"))  # the owner talks in main
    telegram.wait_for(lambda: [m.text for m in telegram.messages(OWNER)] == ["echo: owner here"])
    assert gateway.terminate() == 0  # a fresh start: no connection follows main any more
    gateway.start()
    status, woke = hook(gateway, "/hooks/wake", {"text": "new mail arrived", "mode": "now"})
    assert status == 200 and woke["session"] == "agent:main:main"
    eventually(lambda: asked(model, "new mail arrived"))
    [request] = asked(model, "new mail arrived")
    assert user_texts(request)[-2:] == ["owner here", "new mail arrived"]  # the main session
    assert "from hook: wake" in json.dumps(request)
    # The answer goes where the main session's go: the chat it last heard from too.
    expected = ["echo: owner here", "echo: new mail arrived"]
    telegram.wait_for(lambda: [m.text for m in telegram.messages(OWNER)] == expected)


def test_disabled_api_and_hooks_are_absent(gateway_factory: GatewayFactory) -> None:
    off = gateway_factory(start=True)
    for path in ("/v1/chat/completions", "/v1/models", "/hooks/agent", "/hooks/wake"):
        request = urllib.request.Request(
            off.url + path, data=b"{}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=5)
        assert raised.value.code == 404, path


HEARTBEAT_SOON = (
    "from datetime import timedelta\n"
    "from django.utils import timezone\n"
    "from agents.models import Agent, ScheduledJob\n"
    "from agents.scheduled_jobs import sync_heartbeats\n"
    "Agent.objects.filter(slug='main').update(heartbeat_enabled=True, heartbeat_minutes=60)\n"
    "sync_heartbeats()\n"
    "ScheduledJob.objects.filter(purpose='heartbeat').update("
    "next_run_at=timezone.now() + timedelta(seconds=8))\n"
)


def test_wake_for_the_next_heartbeat_waits_for_it(gateway: Gateway, model: FakeOpenAI) -> None:
    event = {"text": "the build is green", "mode": "next-heartbeat"}
    status, refused = hook(gateway, "/hooks/wake", event)
    assert status == 409 and "heartbeat" in refused["error"]  # nothing would answer it
    manage(gateway.home, gateway.env, "shell", "-c", HEARTBEAT_SOON)
    status, held = hook(gateway, "/hooks/wake", event, **{"Idempotency-Key": "build-7"})
    assert status == 200 and held["session"] == "agent:main:main" and not held["duplicate"]
    assert hook(gateway, "/hooks/wake", event, **{"Idempotency-Key": "build-7"})[1]["duplicate"]
    due = datetime.fromisoformat(held["due"])
    assert due > datetime.now(UTC)
    assert not asked(model, "the build is green")  # held until the heartbeat is due
    eventually(lambda: asked(model, "the build is green"), seconds=30)
    assert datetime.now(UTC) >= due
    time.sleep(0.5)
    assert len(asked(model, "the build is green")) == 1
