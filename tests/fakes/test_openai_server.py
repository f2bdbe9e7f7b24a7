"""The fake OpenAI server speaks the wire format the real ``openai`` SDK expects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import openai
import pytest
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from tests.fakes.openai_server import (
    CutStream,
    Error,
    FakeOpenAI,
    Garbage,
    Hang,
    Text,
    ToolCall,
    ToolCalls,
    Usage,
    split_words,
)

QUESTION = "What is the weather in Paris?"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=("gpt-fake", "gpt-fake-mini")) as server:
        yield server


def client(fake: FakeOpenAI, timeout: float = 5.0) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=timeout)


async def collect_text(stream: AsyncStream[ChatCompletionChunk], into: list[str]) -> None:
    async for chunk in stream:
        into.extend(ch.delta.content for ch in chunk.choices if ch.delta.content)


async def test_streamed_text_with_usage_and_reasoning(fake: FakeOpenAI) -> None:
    fake.script(Text("Sunny and warm today", reasoning=["Let me ", "think."]))
    async with client(fake) as c:
        stream = await c.chat.completions.create(
            model="gpt-fake",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [ch.choices[0].delta for ch in chunks if ch.choices]
    text = "".join(d.content or "" for d in deltas)
    reasoning = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert (text, reasoning) == ("Sunny and warm today", "Let me think.")
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert not chunks[-1].choices
    assert usage is not None
    assert usage.prompt_tokens == len(QUESTION) // 4
    assert usage.completion_tokens == 6  # 2 reasoning + 4 word chunks
    assert usage.total_tokens == usage.prompt_tokens + 6
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0


async def test_echo_default_and_no_usage_chunk_without_include_usage(fake: FakeOpenAI) -> None:
    async with client(fake) as c:
        stream = await c.chat.completions.create(model="gpt-fake", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == "echo: " + str(
        USER[0]["content"]
    )
    assert all(ch.usage is None and ch.choices for ch in chunks)


async def test_tool_call_deltas_reassemble(fake: FakeOpenAI) -> None:
    args = json.dumps({"city": "Paris", "unit": "celsius"})
    fake.script(ToolCalls([ToolCall("get_weather", args, pieces=4), ToolCall("get_time", "{}")]))
    async with client(fake) as c:
        stream = await c.chat.completions.create(model="gpt-fake", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]

    calls: dict[int, dict[str, str]] = {}
    arg_chunks = 0
    for ch in chunks:
        for tc in ch.choices[0].delta.tool_calls or []:
            call = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += tc.id or ""
            if tc.function is not None:
                call["name"] += tc.function.name or ""
                call["arguments"] += tc.function.arguments or ""
                arg_chunks += bool(tc.function.arguments)
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_time", {}),
    ]
    assert all(c["id"] for c in calls.values())
    assert arg_chunks >= 5
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_rate_limit_error(fake: FakeOpenAI) -> None:
    fake.script(Error.rate_limit(retry_after=2))
    async with client(fake) as c:
        with pytest.raises(openai.RateLimitError) as info:
            await c.chat.completions.create(model="gpt-fake", messages=USER)
    assert info.value.status_code == 429
    assert info.value.response.headers["Retry-After"] == "2"
    assert info.value.code == "rate_limit_exceeded"


async def test_sdk_retries_are_served_from_the_script(fake: FakeOpenAI) -> None:
    fake.script(Error.rate_limit(retry_after=0.01), Error(503, retry_after=0.01), Text("finally"))
    async with AsyncOpenAI(base_url=fake.base_url, api_key="test", max_retries=2) as c:
        result = await c.chat.completions.create(model="gpt-fake", messages=USER)
    assert result.choices[0].message.content == "finally"
    assert len(fake.requests) == 3


async def test_context_length_error(fake: FakeOpenAI) -> None:
    fake.script(Error.context_length())
    async with client(fake) as c:
        with pytest.raises(openai.BadRequestError) as info:
            await c.chat.completions.create(model="gpt-fake", messages=USER, stream=True)
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length" in info.value.message


async def test_cut_stream_raises_on_client(fake: FakeOpenAI) -> None:
    fake.script(CutStream("one two three four five", after_chunks=2))
    received: list[str] = []
    async with client(fake) as c:
        stream = await c.chat.completions.create(model="gpt-fake", messages=USER, stream=True)
        with pytest.raises(openai.APIConnectionError):
            await collect_text(stream, received)
    assert "".join(received) == "one two "


async def test_cut_non_streamed_body_raises_on_client(fake: FakeOpenAI) -> None:
    fake.script(CutStream("one two three"))
    async with client(fake) as c:
        with pytest.raises(openai.APIConnectionError):
            await c.chat.completions.create(model="gpt-fake", messages=USER)


async def test_garbage_sse_line_fails_to_parse(fake: FakeOpenAI) -> None:
    fake.script(Garbage("{not json"))
    async with client(fake) as c:
        stream = await c.chat.completions.create(model="gpt-fake", messages=USER, stream=True)
        with pytest.raises(json.JSONDecodeError):
            await collect_text(stream, [])


async def test_hang_times_out_and_stop_stays_fast(fake: FakeOpenAI) -> None:
    fake.script(Hang(), Hang(partial="partial "))
    received: list[str] = []
    async with client(fake, timeout=0.5) as c:
        with pytest.raises(openai.APITimeoutError):
            await c.chat.completions.create(model="gpt-fake", messages=USER)
        stream = await c.chat.completions.create(
            model="gpt-fake", messages=USER, stream=True, timeout=0.2
        )
        with pytest.raises(openai.APITimeoutError):
            await collect_text(stream, received)
    assert received == ["partial "]
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0


async def test_stop_drops_a_hung_connection() -> None:
    fake = FakeOpenAI().start()
    fake.script(Hang())

    def stop_after_first_request() -> None:
        fake.wait_for_requests(1)
        fake.stop()

    stopper = threading.Thread(target=stop_after_first_request)
    stopper.start()
    async with client(fake, timeout=10) as c:
        started = time.monotonic()
        with pytest.raises(openai.APIConnectionError):
            await c.chat.completions.create(model="gpt-fake", messages=USER)
    stopper.join()
    assert time.monotonic() - started < 2.0


async def test_non_streamed_completion_and_latency() -> None:
    with FakeOpenAI(latency=0.2) as fake:
        fake.script(
            Text("hello there", usage=Usage(prompt_tokens=100, cached_tokens=40)),
            ToolCalls(ToolCall("lookup", '{"q": "x"}'), latency=0),
        )
        async with client(fake) as c:
            started = time.monotonic()
            first = await c.chat.completions.create(model="gpt-fake-mini", messages=USER)
            assert time.monotonic() - started >= 0.2
            second = await c.chat.completions.create(model="gpt-fake", messages=USER)

    assert first.object == "chat.completion"
    assert first.model == "gpt-fake-mini"
    assert first.choices[0].message.content == "hello there"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (100, 2)
    assert first.usage.total_tokens == 102
    assert first.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 40
    tool_calls = second.choices[0].message.tool_calls
    assert second.choices[0].finish_reason == "tool_calls"
    assert second.usage is not None
    assert second.usage.completion_tokens == 3  # argument pieces only, not the call header
    assert tool_calls
    assert tool_calls[0].type == "function"
    assert (tool_calls[0].function.name, tool_calls[0].function.arguments) == (
        "lookup",
        '{"q": "x"}',
    )


async def test_callable_reply_sees_request_and_chunk_list(fake: FakeOpenAI) -> None:
    fake.script(lambda body: Text(["you ", "sent ", str(len(body["messages"]))], chunk_delay=0.01))
    async with client(fake) as c:
        stream = await c.chat.completions.create(model="gpt-fake", messages=USER, stream=True)
        pieces = [ch.choices[0].delta.content async for ch in stream if ch.choices[0].delta.content]
    assert pieces == ["you ", "sent ", "1"]


async def test_models_and_embeddings(fake: FakeOpenAI) -> None:
    async with client(fake) as c:
        models = await c.models.list()
        floats = await c.embeddings.create(
            model="emb", input=["alpha", "beta"], encoding_format="float"
        )
        packed = await c.embeddings.create(model="emb", input="alpha", dimensions=4)
        again = await c.embeddings.create(model="emb", input="alpha", encoding_format="float")

    assert [m.id for m in models.data] == ["gpt-fake", "gpt-fake-mini"]
    assert [len(d.embedding) for d in floats.data] == [8, 8]
    assert floats.data[0].embedding == again.data[0].embedding
    assert floats.data[0].embedding != floats.data[1].embedding
    assert sum(x * x for x in floats.data[0].embedding) == pytest.approx(1.0)
    assert len(packed.data[0].embedding) == 4
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 2


async def test_recorded_requests(fake: FakeOpenAI) -> None:
    async with client(fake) as c:
        await c.chat.completions.create(model="gpt-fake", messages=USER, temperature=0.5)
    (request,) = fake.wait_for_requests(1, timeout=1)
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.authorization == "Bearer test"
    assert request.headers["authorization"] == "Bearer test"
    assert request.body["messages"] == USER
    assert request.body["temperature"] == 0.5
    assert fake.pending == 0
    with pytest.raises(TimeoutError):
        fake.wait_for_requests(2, timeout=0.05)


async def test_async_mode_and_independent_instances() -> None:
    async with FakeOpenAI() as one, FakeOpenAI() as two:
        assert one.port != two.port
        one.script(Text("from one"))
        async with client(one) as c1, client(two) as c2:
            r1 = await c1.chat.completions.create(model="m", messages=USER)
            r2 = await c2.chat.completions.create(model="m", messages=USER)
    assert r1.choices[0].message.content == "from one"
    assert r2.choices[0].message.content == "echo: " + QUESTION
    assert (len(one.requests), len(two.requests)) == (1, 1)


def test_split_words() -> None:
    assert split_words("Hello big  world") == ["Hello ", "big  ", "world"]
    assert split_words("") == []
