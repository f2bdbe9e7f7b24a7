"""The model stream as the loop reads it: server-sent events parsed without the SDK's types."""

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.base_protocol import BaseProtocol

from agents.llm_openai import _stream_error, _usage
from openclaw.perf import streams as llm_http
from openclaw.perf.streams import Lines
from openclaw.perf.streams import SSEData as _SSEData


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _events(*lines: str) -> list[str]:
    return [data async for data in _SSEData(_lines(*lines))]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["data: {}", "", "data: [DONE]", ""], ["{}", "[DONE]"]),
        (["data:{}", ""], ["{}"]),  # the space after the colon is optional
        (["data: {", "data: }", ""], ["{\n}"]),  # one event's data over two lines
        ([": keep-alive", "", "event: message", "id: 7", "retry: 10", "data: x", ""], ["x"]),
        (["data: last"], ["last"]),  # a stream cut before its blank line keeps its event
        (["", "", "data: a", "", "", "data: b", ""], ["a", "b"]),
        ([], []),
    ],
)
async def test_server_sent_events_give_their_data(lines: list[str], expected: list[str]) -> None:
    assert await _events(*lines) == expected


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


def test_an_error_inside_the_stream_says_what_the_provider_said() -> None:
    error = _stream_error({"error": {"message": "overloaded", "type": "server_error"}})
    assert error.code == "model_error"
    assert "overloaded" in error.message
    assert "no message" in _stream_error({"error": "boom"}).message


async def test_events_at_the_end_of_the_body_and_after_it_ended() -> None:
    reader = _SSEData(_lines("data: a", "", "data: b"))  # the last event has no blank line
    assert [data async for data in reader] == ["a", "b"]
    with pytest.raises(StopAsyncIteration):  # and stays ended
        await anext(reader)


async def _read_lines(*chunks: bytes) -> list[str]:
    loop = asyncio.get_running_loop()
    content = aiohttp.StreamReader(BaseProtocol(loop), 2**16, loop=loop)
    for chunk in chunks:
        content.feed_data(chunk)
    content.feed_eof()
    return [line async for line in Lines(content)]


async def test_lines_split_as_they_arrive() -> None:
    assert await _read_lines(b"data: a\r\n\r", b"\ndata: b", b"c\n\n", b"tail") == [
        "data: a",
        "",
        "data: bc",
        "",
        "tail",  # the last line without its line end
    ]
    assert await _read_lines(b"caf\xc3", b"\xa9\n\xff\n") == ["café", "\ufffd"]
    assert await _read_lines() == []


async def test_a_line_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_http, "MAX_LINE", 10)
    assert await _read_lines(b"0123456789\n", b"01234", b"56789\n") == ["0123456789"] * 2
    with pytest.raises(ValueError, match="longer than 10 bytes"):
        await _read_lines(b"01234", b"56789", b"x")
