"""The SDK clients that make model calls: one per (API, base URL, key) per event loop, each on
an HTTP transport whose sockets set TCP_NODELAY and acknowledge at once (`openclaw.perf.sockets`),
closed with their loop.

The SDKs are imported at first use, in a worker thread: an idle gateway does not need them.
"""

import asyncio
import contextlib
import importlib
import socket
import sys
import urllib.request
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from agents.llm import ModelSettings
from openclaw import __version__

if TYPE_CHECKING:
    import httpx2
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

USER_AGENT = f"openclaw/{__version__}"
# Our request's headers and body leave at once, without waiting on the server's ACK (Nagle).
# A server's writes are acknowledged at once by `openclaw.perf.sockets`' backend.
SOCKET_OPTIONS: list[tuple[int, int, int]] = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
if hasattr(socket, "TCP_QUICKACK"):
    SOCKET_OPTIONS.append((socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1))


async def load(module: str) -> None:
    """Import `module` once, in a worker thread: the event loop keeps serving meanwhile."""
    if module not in sys.modules:
        await asyncio.to_thread(importlib.import_module, module)


def _transport(proxy: str | None = None) -> "httpx2.AsyncHTTPTransport":
    import httpx2

    from openclaw.perf import sockets  # imports httpx2: loaded with the SDK

    return sockets.transport(
        limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
        socket_options=SOCKET_OPTIONS,
        proxy=proxy,
    )


def _proxy_mounts() -> dict[str, "httpx2.AsyncHTTPTransport | None"]:
    """The proxies HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY name, as httpx would mount
    them itself (it reads them only when it makes its own transport)."""
    found = urllib.request.getproxies()
    mounts: dict[str, httpx2.AsyncHTTPTransport | None] = {}
    for scheme in ("http", "https", "all"):
        if url := found.get(scheme):
            mounts[f"{scheme}://"] = _transport(url if "://" in url else f"http://{url}")
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if host:
            bare = host.lstrip(".")
            mounts[f"all://{bare}"] = None
            mounts[f"all://*.{bare}"] = None
    return mounts


def _http_client() -> "httpx2.AsyncClient":
    from openai import DefaultAsyncHttpxClient

    # The SDK's own defaults (timeouts, redirects) with our transport underneath.
    client: httpx2.AsyncClient = DefaultAsyncHttpxClient(
        transport=_transport(), mounts=_proxy_mounts()
    )
    return client


def _make(api: str, call: ModelSettings) -> Any:
    """A new SDK client for `api`. Retries are ours (agents.failover): one budget covers every
    failure, so the SDKs retry nothing."""
    common: dict[str, Any] = {
        "max_retries": 0,
        "timeout": call.timeout,
        "http_client": _http_client(),
        "default_headers": {"User-Agent": USER_AGENT},
    }
    if api == "anthropic":
        from anthropic import AsyncAnthropic

        return AsyncAnthropic(
            api_key=call.api_key or None, base_url=call.base_url or None, **common
        )
    if api == "azure":
        from openai import AsyncAzureOpenAI

        return AsyncAzureOpenAI(
            api_key=call.api_key,
            azure_endpoint=call.base_url,
            api_version=call.api_version,
            **common,
        )
    from openai import AsyncOpenAI

    # Local servers (Ollama, vLLM) need no key, but the SDK refuses none: the placeholder is
    # never sent (`agents.llm_openai` omits the header on calls without a key).
    return AsyncOpenAI(
        api_key=call.api_key or "no-key-configured", base_url=call.base_url or None, **common
    )


async def _closing(client: Any) -> AsyncGenerator[None]:
    """Held suspended for a client's life. `asyncio.run` and `asyncio.Runner` (pytest's loops)
    close every suspended async generator before they close their loop: the client is then
    closed on its own loop even when no one called `aclose()`."""
    try:
        yield
    finally:
        await client.close()


class Clients:
    """SDK clients by (API, base URL, key, API version) for each event loop. A client's
    connection pool belongs to the loop that made it (the gateway has one; tests and commands
    run several in turn). `aclose()` SHOULD be awaited on each loop that used one."""

    def __init__(self) -> None:
        self._clients: dict[asyncio.AbstractEventLoop, dict[tuple[str, ...], Any]] = {}
        self._closers: dict[asyncio.AbstractEventLoop, list[AsyncGenerator[None]]] = {}

    async def openai(self, api: str, call: ModelSettings) -> "AsyncOpenAI":
        client: AsyncOpenAI = await self._get(api, call, "openai")
        return client

    async def anthropic(self, call: ModelSettings) -> "AsyncAnthropic":
        client: AsyncAnthropic = await self._get("anthropic", call, "anthropic")
        return client

    async def _get(self, api: str, call: ModelSettings, module: str) -> Any:
        key = (api, call.base_url, call.api_key, call.api_version)
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop, {}).get(key)
        if client is None:
            await load(module)
            client = self._clients.get(loop, {}).get(key)  # made meanwhile by another call
            if client is None:
                await self._forget_closed_loops()
                client = _make(api, call)
                closer = _closing(client)
                await anext(closer)
                self._closers.setdefault(loop, []).append(closer)
                self._clients.setdefault(loop, {})[key] = client
        return client

    async def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in list(self._closers) if loop.is_closed()]:
            self._clients.pop(loop, None)
            for closer in self._closers.pop(loop, []):
                with contextlib.suppress(Exception):  # its sockets went with their loop
                    await closer.aclose()

    async def aclose(self) -> None:
        """Close the running loop's clients. Later calls on this loop make new ones."""
        loop = asyncio.get_running_loop()
        self._clients.pop(loop, None)
        closers = self._closers.pop(loop, [])
        await self._forget_closed_loops()
        for closer in closers:
            await closer.aclose()
