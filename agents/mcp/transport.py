"""The `mcp` SDK's transports opened for a server's config (stdio with the gateway's stderr; HTTP
with its headers, telling when the server no longer knows the session), the read stream watched
for its end, and a tool result as the text the model reads."""

import contextlib
import functools
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, Self, TextIO

import anyio
import httpx2
import mcp_types as types
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client
from mcp.shared._stream_protocols import ReadStream
from mcp.shared.message import SessionMessage

from agents.mcp.config import ServerConfig

HTTP_READ_SECONDS = 300.0  # the SDK's own default: a server may hold a response stream open


@contextlib.asynccontextmanager
async def open_transport(
    config: ServerConfig, session_expired: Callable[[], None]
) -> AsyncIterator[Any]:
    """The transport's (read, write) streams. `session_expired` is called when an HTTP server
    answers 404 to a request of our session: it no longer knows it (it restarted), and the
    spec's answer is a new session."""
    if config.is_stdio:
        params = StdioServerParameters(
            command=config.command, args=list(config.args), env=config.child_env()
        )
        async with stdio_client(params, errlog=_errlog()) as streams:
            yield streams
        return

    async def on_response(response: httpx2.Response) -> None:
        if response.status_code == 404 and MCP_SESSION_ID in response.request.headers:
            session_expired()

    timeout = httpx2.Timeout(config.timeout, read=max(config.timeout, HTTP_READ_SECONDS))
    hooks = {"response": [on_response]}
    async with (
        httpx2.AsyncClient(
            headers=config.http_headers(), timeout=timeout, event_hooks=hooks
        ) as client,
        streamable_http_client(config.url, http_client=client) as streams,
    ):
        yield streams


class Watched:
    """The transport's read stream, calling `on_end` when it ends (the server process exited or
    the connection closed), so a crash is noticed while the session is idle."""

    def __init__(
        self, inner: ReadStream[SessionMessage | Exception], on_end: Callable[[], None]
    ) -> None:
        self._inner, self._on_end = inner, on_end

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: the gateway's own stderr (its log). Under Daphne
    `sys.stderr` is Twisted's logging file, which has no descriptor to hand a child."""
    for stream in (sys.__stderr__, sys.stderr):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (OSError, ValueError, AttributeError):
            continue
    return _devnull()


@functools.cache
def _devnull() -> TextIO:
    return open(os.devnull, "w")  # kept for the process's life


def text_of(result: types.CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {resource.uri}]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
        else:  # images, audio: the model gets what it is, not the bytes
            parts.append(f"[{block.type} content: {getattr(block, 'mime_type', '')}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)
