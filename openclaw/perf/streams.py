"""Model stream reading: 0.1 µs of CPU a chunk, not 3.0; 4 asyncio tasks a turn, not 7.

`Lines` splits a response body into lines, `SSEData` turns lines into server-sent events' data,
and `IdleReads` cuts any such reader once one read has waited too long. The figures above: one
idle timer a stream, not one a chunk; readers as classes, not async generators, which a stream
left at `[DONE]` had finalised in a task of its own (bench/README.md, "Optimisations").
"""

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp

# One SSE line carries one chunk. Servers that send a tool call's arguments whole (Ollama, vLLM)
# can make it long; past this a line is refused (aiohttp's own limit, twice its read buffer, is
# 128 KiB by default; `agents.llm_http` sizes the buffer from this).
MAX_LINE = 2**22  # 4 MiB


class Lines:
    """`async for line in Lines(content)`: the body's lines without their line ends (LF or
    CRLF), each decoded once. It reads whatever arrived and splits it in one go (a streamed
    answer's events mostly arrive several to a read; aiohttp's `readline` went through its
    buffer once per line). A line past `MAX_LINE` bytes raises `ValueError`, as aiohttp's
    limit did. A class, not an async generator: a stream left at `[DONE]` leaves no generator
    for the loop to finalise in a task of its own."""

    def __init__(self, content: "aiohttp.StreamReader") -> None:
        self.readany = content.readany
        self.ready: collections.deque[bytes] = collections.deque()
        self.partial: list[bytes] = []  # the start of a line whose end has not arrived
        self.partial_size = 0
        self.ended = False

    def __aiter__(self) -> "Lines":
        return self

    async def __anext__(self) -> str:
        while not self.ready:
            if self.ended:
                raise StopAsyncIteration
            chunk = await self.readany()
            if not chunk:
                self.ended = True
                if self.partial:  # a last line without its line end
                    self.ready.append(b"".join(self.partial))
                continue
            if b"\n" in chunk:
                *whole, rest = b"".join([*self.partial, chunk]).split(b"\n")
                self.ready.extend(whole)
                self.partial, self.partial_size = ([rest] if rest else []), len(rest)
            else:  # kept in pieces: a long line costs no copy per read
                self.partial.append(chunk)
                self.partial_size += len(chunk)
            if self.partial_size > MAX_LINE:
                raise ValueError(f"A line of the stream is longer than {MAX_LINE} bytes.")
        return self.ready.popleft().rstrip(b"\r").decode(errors="replace")


class SSEData:
    """`async for data in SSEData(lines)`: the `data` of each server-sent event (a multi-line
    field joined with newlines); `event`, `id`, `retry` and comment lines carry nothing a chat
    completion needs. A class, not an async generator, for the reason `Lines` gives."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self.lines = lines
        self.data: list[str] = []
        self.ended = False

    def __aiter__(self) -> "SSEData":
        return self

    async def __anext__(self) -> str:
        data = self.data
        while not self.ended:
            try:
                line = await anext(self.lines)
            except StopAsyncIteration:
                self.ended = True
                break
            if not line:
                if data:
                    self.data = []
                    return "\n".join(data)
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
        if data:
            self.data = []
            return "\n".join(data)
        raise StopAsyncIteration


class IdleReads[T]:
    """`async for item in IdleReads(items, seconds)`: each read of `items` is cut with
    `TimeoutError` once it has waited `seconds`, as `asyncio.timeout(seconds)` around it would,
    but with one timer per stream, moved only when it fires, instead of one per item. Time the
    caller spends between reads does not count. `close()` when done."""

    def __init__(self, items: AsyncIterator[T], seconds: float) -> None:
        self.items, self.seconds = items, seconds
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[object] | None = None  # the task reading
        self.timer: asyncio.TimerHandle | None = None
        self.started = 0.0  # when the read in progress started
        self.reading = False
        self.cut = False

    def __aiter__(self) -> "IdleReads[T]":
        return self

    async def __anext__(self) -> T:
        self.task = asyncio.current_task()
        self.started = self.loop.time()
        if self.timer is None:
            self.timer = self.loop.call_at(self.started + self.seconds, self._check)
        self.reading = True
        try:
            return await anext(self.items)
        except asyncio.CancelledError:
            if self.cut and self.task is not None and self.task.uncancel() == 0:
                raise TimeoutError from None
            raise
        finally:
            self.reading = False

    def _check(self) -> None:
        """The timer fired. The task waits in `__anext__` exactly when `reading` is set (this runs
        on the loop, while the task is suspended): cut that read if it has waited too long."""
        self.timer = None
        if not self.reading:
            return  # the next read arms the timer again
        due = self.started + self.seconds
        if self.loop.time() < due:
            self.timer = self.loop.call_at(due, self._check)
        elif self.task is not None:
            self.cut = True
            self.task.cancel()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
