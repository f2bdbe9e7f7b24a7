"""openclaw.perf.sse splits a stream into events exactly as the SDKs' own decoders do, however its
bytes are cut into reads (revisit it when the openai or anthropic SDK changes its SSEDecoder),
and an `error` event inside an Anthropic stream raises the SDK's error for its type."""

import asyncio
from collections.abc import AsyncIterator

import anthropic
import httpx2
import pytest
from anthropic import AsyncStream
from anthropic._streaming import SSEDecoder as AnthropicDecoder
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._streaming import SSEDecoder as OpenAIDecoder

from agents.llm_anthropic import _stream_error
from openclaw.perf.sse import Event, SSEParser

# Pieces that exercise every rule: line ends of three kinds, fields with and without a space,
# comments, an id with a NUL, retry values good and bad, unknown fields, multibyte text.
PIECES = st.sampled_from(
    [
        'data: {"a": 1}',
        "data:x",
        "data",
        "event: message_start",
        "event:",
        "event: ping",
        "id: 7",
        "id: a\0b",
        "retry: 10",
        "retry: soon",
        ": a comment",
        "other: field",
        "[DONE]",
        "Grüße 世界 🌍",
        " ",
        ":",
        "\n",
        "\r",
        "\r\n",
        "\n\n",
        "\r\n\r\n",
    ]
)


def sdk_events(decoder: OpenAIDecoder | AnthropicDecoder, chunks: list[bytes]) -> list[Event]:
    async def run() -> list[Event]:
        async def source() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return [Event(e.event, e.data) async for e in decoder.aiter_bytes(source())]

    return asyncio.run(run())


def ours(chunks: list[bytes]) -> list[Event]:
    parser = SSEParser()
    got = [event for chunk in chunks for event in parser.feed(chunk)]
    return got + parser.finish()


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=30), st.lists(st.integers(0, 400), max_size=8))
def test_events_match_the_sdks_decoders_however_the_bytes_are_cut(
    pieces: list[str], cuts: list[int]
) -> None:
    data = "".join(pieces).encode()
    bounds = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]
    expected = sdk_events(OpenAIDecoder(), chunks)
    assert ours(chunks) == expected
    assert sdk_events(AnthropicDecoder(), chunks) == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 200))
def test_any_bytes_give_the_same_events_or_the_same_error(data: bytes, cut: int) -> None:
    chunks = [data[:cut], data[cut:]]
    try:
        expected: list[Event] | type[Exception] = sdk_events(OpenAIDecoder(), chunks)
    except UnicodeDecodeError:
        expected = UnicodeDecodeError
    try:
        got: list[Event] | type[Exception] = ours(chunks)
    except UnicodeDecodeError:
        got = UnicodeDecodeError
    assert got == expected


def test_a_typical_answer_arriving_in_one_read() -> None:
    body = b"event: message_start\ndata: {}\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n"
    assert ours([body]) == [
        Event("message_start", "{}"),
        Event("ping", "{}"),
        Event(None, "[DONE]"),
    ]


@pytest.mark.parametrize("kind", ["overloaded_error", "rate_limit_error", "api_error"])
async def test_an_error_event_raises_what_the_sdks_stream_raises(kind: str) -> None:
    client = anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url="http://127.0.0.1:9")
    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/messages")
    data = f'{{"type": "error", "error": {{"type": "{kind}", "message": "busy"}}}}'
    body = f"event: error\ndata: {data}\n\n".encode()
    stream = AsyncStream(
        cast_to=object, response=httpx2.Response(200, content=body, request=request), client=client
    )
    with pytest.raises(anthropic.APIError) as raised:
        async for _ in stream:
            pass
    error = _stream_error(client, data, httpx2.Response(200, content=body, request=request))
    assert type(error) is type(raised.value)
    assert str(error) == str(raised.value)
    assert getattr(error, "body", None) == raised.value.body
    await client.close()
