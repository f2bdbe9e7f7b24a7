"""`OpenAIChatModel.stream` through the openai SDK, against the fake OpenAI server: what it sends,
how each answer comes back, reasoning models' refused parameters, Azure, and that every error
status and transport failure gives its `ModelError` with the provider's own message."""

import asyncio
import dataclasses
import gc
import json
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import openai
import pytest

from agents.llm import (
    Finished,
    Message,
    ModelError,
    ModelEvent,
    ModelSettings,
    TextDelta,
    ToolCallDelta,
)
from agents.llm_clients import SOCKET_OPTIONS
from agents.llm_errors import translate
from agents.llm_openai import OpenAIChatModel, _usage
from openclaw import __version__
from tests.fakes.openai_server import (
    CutStream,
    Error,
    FakeOpenAI,
    Garbage,
    Hang,
    Raw,
    Reply,
    Text,
    ToolCall,
    ToolCalls,
    Usage,
)

USER: list[Message] = [{"role": "user", "content": "hello"}]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def model() -> AsyncIterator[OpenAIChatModel]:
    chat = OpenAIChatModel()
    yield chat
    await chat.aclose()


def call(base_url: str, **overrides: Any) -> ModelSettings:
    settings = ModelSettings(
        model="gpt-fake",
        base_url=base_url,
        api_key="sk-test",
        api_key_env="OPENAI_API_KEY",
        timeout=5.0,
        idle_timeout=5.0,
    )
    return dataclasses.replace(settings, **overrides)


async def events(
    model: OpenAIChatModel,
    settings: ModelSettings,
    tools: Sequence[dict[str, Any]] | None = None,
    into: list[ModelEvent] | None = None,
) -> list[ModelEvent]:
    out = [] if into is None else into
    async for event in model.stream(USER, settings, tools):
        out.append(event)
    return out


async def failure(
    model: OpenAIChatModel, settings: ModelSettings, before: list[ModelEvent] | None = None
) -> ModelError:
    with pytest.raises(ModelError) as caught:
        await events(model, settings, into=before)
    return caught.value


async def test_text_streams_as_deltas_then_finished_with_usage(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    fake.script(Text("Hello big world", usage=Usage(prompt_tokens=7, completion_tokens=3)))
    got = await events(model, call(fake.base_url))
    assert got[:-1] == [TextDelta("Hello "), TextDelta("big "), TextDelta("world")]
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert got[-1] == Finished("stop", usage)  # type: ignore[arg-type]  # a Usage TypedDict


async def test_tool_calls_stream_as_deltas(fake: FakeOpenAI, model: OpenAIChatModel) -> None:
    args = '{"path": "notes/today.md"}'
    fake.script(ToolCalls(ToolCall("read_file", args, pieces=2, id="call_7")))
    got = await events(model, call(fake.base_url))
    calls = [e for e in got if isinstance(e, ToolCallDelta)]
    assert calls[0] == ToolCallDelta(0, "call_7", "read_file", "")
    assert "".join(c.arguments for c in calls) == args
    assert {c.index for c in calls} == {0}
    assert isinstance(got[-1], Finished) and got[-1].stop_reason == "tool_calls"


async def test_the_request_is_the_chat_completion_wire_body(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    tools = [{"type": "function", "function": {"name": "now", "parameters": {}}}]
    settings = call(fake.base_url + "/", temperature=0.2, max_tokens=64)  # trailing slash too
    await events(model, settings, tools)
    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.body == {
        "model": "gpt-fake",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": tools,
        "temperature": 0.2,
        "max_tokens": 64,
    }
    await events(model, call(fake.base_url))  # no tools, temperature nor max_tokens: not sent
    assert set(fake.requests[-1].body) == {"model", "messages", "stream", "stream_options"}


async def test_headers_carry_the_key_and_name_openclaw(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-7")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-9")
    model = OpenAIChatModel()
    try:
        await events(model, call(fake.base_url))
    finally:
        await model.aclose()
    headers = fake.requests[-1].headers
    assert headers["Authorization"] == "Bearer sk-test"
    assert headers["User-Agent"] == f"openclaw/{__version__}"
    assert headers["Content-Type"] == "application/json"
    assert headers["OpenAI-Organization"] == "org-7"
    assert headers["OpenAI-Project"] == "proj-9"


async def test_no_key_sends_no_authorization_header(
    fake: FakeOpenAI, model: OpenAIChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    await events(model, call(fake.base_url, api_key=""))  # a local server needs none
    headers = fake.requests[-1].headers
    assert "Authorization" not in headers
    assert "OpenAI-Organization" not in headers and "OpenAI-Project" not in headers


ERRORS: list[tuple[str, Reply]] = [
    ("401", Error(401, "Incorrect API key", "invalid_request_error", "invalid_api_key")),
    ("404", Error(404, "The model does not exist", "invalid_request_error", "model_not_found")),
    ("429 with Retry-After", Error.rate_limit(retry_after=2)),
    ("429 without", Error.rate_limit()),
    ("context length", Error.context_length()),
    ("400", Error(400, "bad request", "invalid_request_error")),
    ("408", Error(408, "request timeout")),
    ("500", Error.server_error()),
    ("503 with Retry-After", Error(503, "overloaded", retry_after=3)),
    ("502 from a proxy", Raw("<html>Bad gateway</html>", status=502, content_type="text/html")),
    ("code outside an error", Raw('{"code": "context_length_exceeded"}', 400, "application/json")),
]


@pytest.mark.parametrize("reply", [r for _, r in ERRORS], ids=[name for name, _ in ERRORS])
async def test_an_error_status_maps_as_the_sdk_exception_did(
    fake: FakeOpenAI, model: OpenAIChatModel, reply: Reply
) -> None:
    settings = call(fake.base_url)
    fake.script(reply, reply)
    got = await failure(model, settings)
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as sdk:
        with pytest.raises(openai.APIStatusError) as caught:
            await sdk.chat.completions.create(model="gpt-fake", messages=[], stream=True)
    assert got == translate(caught.value, settings)


@pytest.mark.parametrize(
    ("reply", "code", "retryable", "status", "retry_after", "says"),
    [
        (ERRORS[0][1], "model_auth", False, 401, None, "HTTP 401: Incorrect API key. Check OPENAI"),
        (ERRORS[1][1], "model_error", False, 404, None, "Model 'gpt-fake' was not found"),
        (ERRORS[2][1], "rate_limited", True, 429, 2.0, "HTTP 429: Rate limit reached. Rate"),
        (ERRORS[4][1], "context_length", False, 400, None, "too long for the model"),
        (ERRORS[5][1], "model_error", False, 400, None, "answered HTTP 400: bad request"),
        (ERRORS[6][1], "model_error", True, 408, None, "answered HTTP 408: request timeout"),
        (ERRORS[8][1], "model_error", True, 503, 3.0, "answered HTTP 503: overloaded"),
    ],
)
async def test_an_error_status_gives_its_code(
    fake: FakeOpenAI,
    model: OpenAIChatModel,
    reply: Reply,
    code: str,
    retryable: bool,
    status: int | None,
    retry_after: float | None,
    says: str,
) -> None:
    fake.script(reply)
    got = await failure(model, call(fake.base_url))
    assert (got.code, got.retryable, got.status, got.retry_after) == (
        code,
        retryable,
        status,
        retry_after,
    )
    assert says in got.message


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused, and no other test can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def test_an_unreachable_server_is_retryable(model: OpenAIChatModel, closed_port: int) -> None:
    got = await failure(model, call(f"http://127.0.0.1:{closed_port}/v1"))
    assert (got.code, got.retryable) == ("model_unreachable", True)
    assert f"127.0.0.1:{closed_port}" in got.message


async def test_the_proxy_variables_are_followed(
    fake: FakeOpenAI, model: OpenAIChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", fake.url)  # the fake answers as the proxy would relay
    monkeypatch.setenv("no_proxy", "direct.invalid")
    got = await events(model, call("http://via-proxy.invalid/v1"))  # a host no DNS knows
    assert isinstance(got[-1], Finished)
    assert fake.requests[-1].headers["Host"] == "via-proxy.invalid"
    direct = await failure(model, call("http://direct.invalid/v1"))  # NO_PROXY: not proxied
    assert (direct.code, direct.retryable) == ("model_unreachable", True)


async def test_a_server_that_never_answers_times_out(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    fake.script(Text("too late", latency=5))
    got = await failure(model, call(fake.base_url, timeout=0.3))
    assert (got.code, got.retryable) == ("timeout", True)
    assert "did not answer in time" in got.message


async def test_a_long_answer_is_not_cut_by_the_timeout(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    """The timeout bounds each read, as httpx applied it, not the whole answer."""
    fake.script(Text(["a", "b", "c", "d", "e", "f"], chunk_delay=0.1))
    got = await events(model, call(fake.base_url, timeout=0.4, idle_timeout=0.4))
    assert "".join(e.text for e in got if isinstance(e, TextDelta)) == "abcdef"


async def test_a_stream_that_goes_quiet_hits_the_idle_timeout(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    fake.script(Hang(partial="half an "))
    before: list[ModelEvent] = []
    got = await failure(model, call(fake.base_url, idle_timeout=0.3), before)
    assert before == [TextDelta("half "), TextDelta("an ")]
    assert (got.code, got.retryable) == ("timeout", True)
    assert "sent nothing for 0.3 s" in got.message


@pytest.mark.parametrize(
    "reply", [CutStream("cut short here", after_chunks=2), Garbage("{not json")], ids=str
)
async def test_a_broken_stream_is_a_model_error(
    fake: FakeOpenAI, model: OpenAIChatModel, reply: Reply
) -> None:
    fake.script(reply)
    got = await failure(model, call(fake.base_url))
    assert (got.code, got.retryable) == ("model_error", False)
    assert "unreadable answer" in got.message


async def test_an_error_inside_the_stream_says_what_the_provider_said(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    fake.script(Raw('data: {"error": {"message": "overloaded"}}\n\n'))
    got = await failure(model, call(fake.base_url))
    assert got.code == "model_error" and "overloaded" in got.message


async def test_a_stream_without_a_finish_reason_is_retryable(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    fake.script(Raw('data: {"choices": []}\n\ndata: [DONE]\n\n'))
    got = await failure(model, call(fake.base_url))
    assert (got.code, got.retryable) == ("model_error", True)


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


async def test_crlf_lines_and_multibyte_text(fake: FakeOpenAI, model: OpenAIChatModel) -> None:
    text = "Grüße, 世界 🌍"
    sse = f"data: {chunk({'content': text})}\r\n\r\ndata: {chunk({}, 'stop')}\r\n\r\n"
    fake.script(Raw(sse.encode()))
    got = await events(model, call(fake.base_url))
    assert got == [TextDelta(text), Finished("stop")]


async def test_a_long_line_is_read_whole(fake: FakeOpenAI, model: OpenAIChatModel) -> None:
    """Some servers (Ollama, vLLM) send a tool call's arguments in one chunk: a written file's
    content can make that line far longer than aiohttp's default line limit (128 KiB)."""
    args = json.dumps({"content": "x" * 1_000_000})
    fake.script(ToolCalls(ToolCall("write_file", [args])))
    got = await events(model, call(fake.base_url))
    assert "".join(e.arguments for e in got if isinstance(e, ToolCallDelta)) == args


async def test_calls_share_a_connection_until_aclose(fake: FakeOpenAI) -> None:
    model = OpenAIChatModel()
    await events(model, call(fake.base_url))
    await events(model, call(fake.base_url))
    first, second = fake.requests[-2:]
    assert first.peer == second.peer  # kept alive: no new connection per call
    await model.aclose()
    await events(model, call(fake.base_url))  # still usable: a new pool, a new connection
    assert fake.requests[-1].peer != second.peer
    await model.aclose()


def test_one_model_serves_one_loop_after_another_without_leaks() -> None:
    """The gateway's model is a process singleton, and tests and commands each run their own
    loop: a pool belongs to one loop, so every loop gets its own, closed without warnings."""
    models = [OpenAIChatModel()]
    gc.collect()  # earlier tests' garbage (an unclosed temporary file, say) warns now, not below
    with FakeOpenAI() as fake, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = call(fake.base_url)
        first = asyncio.run(events(models[0], settings))  # ended without aclose()

        async def second_loop() -> list[ModelEvent]:
            try:
                return await events(models[0], settings)
            finally:
                await models[0].aclose()

        second = asyncio.run(second_loop())
        models.clear()
        gc.collect()
    assert first == second and isinstance(first[-1], Finished)
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []  # no unclosed session, connector, transport nor socket


def test_an_idle_gateway_does_not_import_the_sdks() -> None:
    """The SDKs cost start time and memory: they are imported at the first model call."""
    script = (
        "import django; django.setup()\n"
        "import sys, agents.llm_chat, gateway.state\n"
        "print('openai' in sys.modules, 'anthropic' in sys.modules)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_usage_with_and_without_cached_tokens() -> None:
    raw = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    assert _usage(raw) == raw
    cached = {**raw, "prompt_tokens_details": {"cached_tokens": 4}}
    assert _usage(cached) == {**raw, "cached_tokens": 4}
    assert _usage({**raw, "prompt_tokens_details": None}) == raw
    assert _usage({"prompt_tokens": None}) == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
    }
    assert _usage(None) is None


def test_the_client_sockets_set_nodelay_and_quickack() -> None:
    """A server that leaves Nagle on must not hold a stream's end until our delayed ACK."""
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in SOCKET_OPTIONS
    if hasattr(socket, "TCP_QUICKACK"):
        assert (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1) in SOCKET_OPTIONS


async def test_answers_read_to_their_end_leave_the_connection_for_the_next_call(
    fake: FakeOpenAI, model: OpenAIChatModel
) -> None:
    """The stream is read past `[DONE]` to the body's end (agents.llm_openai reads events
    itself, openclaw.perf.sse), so the next call reuses the kept-alive connection."""
    for _ in range(3):
        got = await events(model, call(fake.base_url))
        assert isinstance(got[-1], Finished)
    assert len({r.peer for r in fake.requests}) == 1
