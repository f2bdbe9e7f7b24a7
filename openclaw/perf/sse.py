"""Model streams read from the raw response to their end: anthropic/ 2.21 → 1.05 ms CPU a call.

Bench: `bench/tools/sdk_calls.py` (CPU of one streamed call in process, before and after,
alternating; `--variants`: openai/ 0.93 against 0.95 ms read through the SDK's `AsyncStream`,
interleaved call by call; bench/README.md, "Model providers through their SDKs"). Most of the
anthropic/ figure is the connection kept: its stream used to be left at `message_stop`, which
closed the connection under the unread end of the body, so every call connected afresh (over TLS,
a handshake a call). `drain` reads to the end, as the openai SDK does after `[DONE]`.

The SDKs (`openai`, `anthropic`) still send the request, authenticate, apply their timeouts and
raise their errors for a refused call (`client.post(..., cast_to=httpx2.Response, stream=True)`
returns the raw response once the status is known good). What is left out is their stream
object: `AsyncStream`, its `ServerSentEvent` per event and its byte-by-byte line decoder.
`SSEParser` splits events exactly as their `SSEDecoder` does (CR, LF and CRLF line ends, a CRLF
split across reads, comments, `event`/`data`/`id`/`retry` fields, an event only at a blank line,
strict UTF-8 per line; tests/perf/test_sse.py checks it against the SDK's decoder on generated
streams). `read_events` applies the SDKs' mapping of transport failures during the read.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import NamedTuple

import httpx2

_DRAIN_SECONDS = 0.1  # as the openai SDK bounds its drain after `[DONE]`


class Event(NamedTuple):
    event: str | None  # None when the event named none (or an empty name)
    data: str  # its `data` lines joined by "\n"


class SSEParser:
    """Incremental: `feed(bytes)` returns the events completed by those bytes."""

    def __init__(self) -> None:
        self._rest = b""  # an unfinished line
        self._skip_lf = False  # the last byte seen was a CR: a LF right after it is its pair
        self._event: str | None = None
        self._data: list[str] = []
        self._id = ""  # as the spec (and the SDK): never reset between events
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        if not chunk:
            return []
        if self._skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._skip_lf = chunk[-1:] == b"\r"
        text = self._rest + chunk
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = text.split(b"\n")
        self._rest = lines.pop()
        events: list[Event] = []
        for line in lines:
            if (event := self._line(line.decode("utf-8"))) is not None:
                events.append(event)
        return events

    def finish(self) -> list[Event]:
        """The stream ended: a last line without its end is a line; an event without its blank
        line is dropped (as the SDK does)."""
        rest, self._rest = self._rest, b""
        if rest:
            self._line(rest.decode("utf-8"))
        return []

    def _line(self, line: str) -> Event | None:
        if not line:
            if not self._event and not self._data and not self._id and self._retry is None:
                return None
            event = Event(self._event or None, "\n".join(self._data))
            self._event, self._data, self._retry = None, [], None
            return event
        if line[0] == ":":
            return None
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            with contextlib.suppress(ValueError):
                self._retry = int(value)
        return None


async def read_events(
    response: httpx2.Response,
    timeout_error: Callable[[httpx2.Request], Exception],
    connection_error: Callable[[httpx2.Request], Exception],
) -> AsyncIterator[Event]:
    """The events of `response`'s body as they arrive. A timeout or a transport failure while
    reading raises what the SDK's stream would (`timeout_error(request)`, e.g. the SDK's
    `APITimeoutError`; `connection_error(request)`). The caller closes the response."""
    parser = SSEParser()
    try:
        async for chunk in response.aiter_bytes():
            for event in parser.feed(chunk):
                yield event
        for event in parser.finish():
            yield event
    except httpx2.TimeoutException as exc:
        raise timeout_error(response.request) from exc
    except httpx2.RequestError as exc:
        raise connection_error(response.request) from exc


async def drain(events: AsyncIterator[Event]) -> None:
    """Read what is left of a stream after its last event (within 0.1 s, as the openai SDK does
    after `[DONE]`), so that its HTTP/1.1 connection goes back to the pool rather than being
    closed with an unread end. A failure here changes nothing: the answer is complete."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in events:
                pass
