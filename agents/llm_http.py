"""aiohttp for model calls: one connection pool per event loop, proxy routes and timeouts as
the openai SDK's httpx client applied them. A streamed answer is read by
`openclaw.perf.streams`.

aiohttp is imported at first use, in a worker thread: an idle gateway does not need it.
"""

import asyncio
import functools
import importlib
import json
import os
import sys
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING

from openclaw import __version__
from openclaw.perf.streams import MAX_LINE

if TYPE_CHECKING:
    import aiohttp

OPENAI_API = "https://api.openai.com/v1"
USER_AGENT = f"openclaw/{__version__}"
# aiohttp's buffer for a response body: half the longest line `streams.Lines` accepts, as
# aiohttp's own line limit is twice its buffer.
READ_BUFFER = MAX_LINE // 2


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
