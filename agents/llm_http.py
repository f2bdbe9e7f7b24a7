"""aiohttp for model calls: one connection pool per event loop, proxy routes and timeouts as
the openai SDK's httpx client applied them, and the lines of a streamed answer.

The SDK's request path cost ~2 ms of CPU a call more than this (bench/README.md,
"Optimisations"). aiohttp is imported at first use, in a worker thread (~0.2 s of CPU that an
idle gateway does not need).
"""

import asyncio
import collections
import functools
import importlib
import json
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING

from openclaw import __version__

if TYPE_CHECKING:
    import aiohttp

OPENAI_API = "https://api.openai.com/v1"
USER_AGENT = f"openclaw/{__version__}"
# One SSE line carries one chunk. Servers that send a tool call's arguments whole (Ollama, vLLM)
# can make it long; past this a line is refused (aiohttp's own limit is 128 KiB by default).
READ_BUFFER = 2**21
MAX_LINE = 2 * READ_BUFFER  # 4 MiB


async def load(module: str) -> None:
    """Import `module` once, in a worker thread: the event loop keeps serving meanwhile."""
    if module not in sys.modules:
        await asyncio.to_thread(importlib.import_module, module)


@functools.lru_cache(maxsize=8)
def timeouts(seconds: float) -> "aiohttp.ClientTimeout":
    """`seconds` for the connection (from the pool, DNS and TLS included) and for each read, as
    httpx applied the SDK's timeout: an answer that keeps streaming is never cut by it."""
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)


@functools.lru_cache(maxsize=32)
def route(base_url: str) -> tuple[str, str | None, Mapping[str, str] | None]:
    """The chat completions URL, and the proxy the environment names for it with its
    credentials (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; the proxy's password in the URL or in
    ~/.netrc), read once per URL as httpx read them once per client."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    url = f"{(base_url or OPENAI_API).rstrip('/')}/chat/completions"
    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:  # no proxy for this scheme, or the host is in NO_PROXY
        return url, None, None
    return url, str(proxy), None if auth is None else {"Proxy-Authorization": auth.encode()}


def _new_session() -> "aiohttp.ClientSession":
    import aiohttp

    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "text/event-stream",
        "Content-Type": "application/json",
    }
    # Read from the environment as the SDK did: accounts in several organisations or projects.
    for header, variable in (
        ("OpenAI-Organization", "OPENAI_ORG_ID"),
        ("OpenAI-Project", "OPENAI_PROJECT_ID"),
    ):
        if value := os.environ.get(variable):
            headers[header] = value
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1000),  # kept alive; the SDK's pool size
        headers=headers,
        # No `trust_env`: it reads the proxy variables and ~/.netrc in worker threads at every
        # request (two thread hops a turn); `route` reads the variables once per URL.
        read_bufsize=READ_BUFFER,
    )


async def error_details(response: "aiohttp.ClientResponse") -> tuple[str | None, str]:
    """The `code` and `message` of an error body (`{"error": {...}}`, or the object itself),
    read as the SDK read them; the message is for the log only (providers echo keys in it)."""
    try:
        body = json.loads(await response.read())
    except Exception:  # no body, a cut one, or a proxy's HTML page: the status alone decides
        return None, ""
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code, message = error.get("code"), error.get("message")
    return (None if code is None else str(code)), str(message or "")[:500]


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


class IdleReads[T]:
    """`async for item in IdleReads(items, seconds)`: each read of `items` is cut with
    `TimeoutError` once it has waited `seconds`, as `asyncio.timeout(seconds)` around it would,
    but with one timer per stream, moved only when it fires, instead of one per item (3 µs of
    CPU a chunk: a 500-token answer paid 1.5 ms). Time the caller spends between reads does not
    count. `close()` when done."""

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


async def _closing(session: "aiohttp.ClientSession") -> AsyncGenerator[None]:
    """Held suspended for a session's life. `asyncio.run` and `asyncio.Runner` (pytest's loops)
    close every suspended async generator before they close their loop: the session is then
    closed on its own loop even when no one called `aclose()`."""
    try:
        yield
    finally:
        await session.close()


class Pools:
    """One aiohttp session (a connection pool) per event loop. A pool belongs to the loop that
    made it (the gateway has one; tests and commands run several in turn). `aclose()` SHOULD be
    awaited on each loop that used one, before it ends; a loop ended by `asyncio.run` closes
    its pool anyway."""

    def __init__(self) -> None:
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None]] = {}

    def current(self) -> "aiohttp.ClientSession | None":
        """The running loop's session, if it has one."""
        return self._sessions.get(asyncio.get_running_loop())

    async def session(self) -> "aiohttp.ClientSession":
        """The running loop's session, made at its first call."""
        await load("aiohttp")
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)  # made by another call while the import ran
        if session is None:
            await self._forget_closed_loops()
            session = _new_session()
            closer = self._closers[loop] = _closing(session)
            await anext(closer)
            self._sessions[loop] = session
        return session

    async def _forget_closed_loops(self) -> None:
        """Drop the pools of loops that have ended; one still open (its loop was closed by
        hand) is marked closed, without I/O, so that it does not warn when collected."""
        for loop in [loop for loop in list(self._closers) if loop.is_closed()]:
            self._sessions.pop(loop, None)
            closer = self._closers.pop(loop, None)
            if closer is not None:
                await closer.aclose()

    async def aclose(self) -> None:
        """Close the running loop's connections. The pools stay usable: a later call on this
        loop opens a new one."""
        loop = asyncio.get_running_loop()
        self._sessions.pop(loop, None)
        closer = self._closers.pop(loop, None)
        await self._forget_closed_loops()
        if closer is not None:
            await closer.aclose()
