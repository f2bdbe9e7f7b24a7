"""Fake Anthropic Messages API for tests: point the real ``anthropic`` SDK at it
(``base_url=fake.url``) and script what it answers.

``POST /v1/messages`` needs a key (``x-api-key``, or ``Authorization: Bearer`` as the SDK sends
it) and an ``anthropic-version`` header, refuses a ``system`` role inside ``messages`` (400, as
the API does) and streams ``message_start``, ``content_block_start``/``_delta``/``_stop``,
``message_delta`` (stop reason, usage) and ``message_stop`` events; without ``stream`` it answers
the whole message. The prompt cache is simulated: by default (``cache="prefix"``, simplified) the
first request with a breakpoint (``cache_control``) on its tools or system writes tools + system
(``cache_creation_input_tokens``), a later request with the same tools + system reads them
(``cache_read_input_tokens``); tokens are characters // 4. ``FakeAnthropic(cache="anthropic",
min_cache_tokens=1024)`` bills as the API does (tests/fakes/anthropic_cache.py): the longest
cached prefix up to a breakpoint, looking back 20 blocks, written at every breakpoint, at most 4
breakpoints (a fifth is a 400).

Scripting: ``fake.script(*replies)``; an empty script answers ``Text("echo: <last user text>")``
(the time stamp openclaw puts first left out). Replies: ``Text(content, thinking="")``,
``ToolUse(name, input_json, pieces=3, id=None, content="")``, ``Error(status, type, message,
retry_after)`` with ``Error.rate_limit()`` (429) and ``Error.overloaded()`` (529), or a callable
``(request_json) -> reply``. ``fake.requests`` lists ``Recorded(path, headers, body, peer)`` (``peer``: the client's address,
the same for requests over one kept-alive connection).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web

from tests.fakes.anthropic_cache import PromptCache, TooManyBreakpoints
from tests.fakes.base import FakeServer
from tests.fakes.openai_server import said, split_words

JSON = dict[str, Any]


@dataclass(frozen=True)
class Text:
    content: str | Sequence[str]
    thinking: str = ""
    stop_reason: str = "end_turn"


@dataclass(frozen=True)
class ToolUse:
    name: str
    input_json: str = "{}"
    pieces: int = 3
    id: str | None = None
    content: str = ""


@dataclass(frozen=True)
class Error:
    status: int
    type: str = "api_error"
    message: str = "Internal server error"
    retry_after: float | None = None

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1) -> Error:
        message = "Number of request tokens has exceeded your per-minute rate limit"
        return cls(429, "rate_limit_error", message, retry_after)

    @classmethod
    def overloaded(cls) -> Error:
        return cls(529, "overloaded_error", "Overloaded")


Reply = Text | ToolUse | Error
Scripted = Reply | Callable[[JSON], Reply]


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: Mapping[str, str]
    body: JSON
    peer: tuple[str, int] | None = None


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                parts.append(str(block.get("text") or block.get("content") or ""))
        return "".join(parts)
    return ""


def _tokens(value: object) -> int:
    return max(1, len(json.dumps(value)) // 4)


def _has_breakpoint(value: object) -> bool:
    return '"cache_control"' in json.dumps(value)


class FakeAnthropic(FakeServer):
    """One fake server; every instance has its own port, script, cache and request log."""

    def __init__(
        self, host: str = "127.0.0.1", *, cache: str = "prefix", min_cache_tokens: int = 0
    ) -> None:
        super().__init__(host)
        if cache not in ("prefix", "anthropic"):
            raise ValueError(f"cache is 'prefix' or 'anthropic', not {cache!r}")
        self._prompt_cache = PromptCache(min_cache_tokens) if cache == "anthropic" else None
        self._billed: list[JSON] = []
        self._script: deque[Scripted] = deque()
        self._requests: list[Recorded] = []
        self._cache: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def script(self, *replies: Scripted) -> Self:
        with self._lock:
            self._script.extend(replies)
        return self

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def billed(self) -> list[JSON]:
        """With `cache="anthropic"`: each request's input usage as billed, in order."""
        with self._lock:
            return list(self._billed)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._messages)

    def _next(self, body: JSON) -> Reply:
        with self._lock:
            item = self._script.popleft() if self._script else None
        if item is None:
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            texts = [_text([b for b in m["content"] if b.get("type") == "text"]) for m in users]
            return Text("echo: " + said(texts[-1] if texts else ""))
        return item(body) if callable(item) else item

    def _usage(self, body: JSON) -> JSON:
        """Input tokens split as the API splits them: read from the cache, written, the rest."""
        if self._prompt_cache is not None:
            usage = self._prompt_cache.usage(body) | {"output_tokens": 1}
            with self._lock:
                self._billed.append(dict(usage))
            return usage
        prefix = {"tools": body.get("tools"), "system": body.get("system")}
        whole = _tokens(body.get("messages")) + _tokens(prefix)
        read = written = 0
        if _has_breakpoint(prefix):
            key = json.dumps(prefix, sort_keys=True)
            with self._lock:
                cached = key in self._cache
                self._cache.add(key)
            read, written = (_tokens(prefix), 0) if cached else (0, _tokens(prefix))
        return {
            "input_tokens": whole - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "output_tokens": 1,
        }

    @staticmethod
    def _error(
        status: int, kind: str, message: str, retry_after: float | None = None
    ) -> web.Response:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
        return web.json_response(body, status=status, headers=headers)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body: JSON = await request.json()
        transport = request.transport
        peer = tuple(transport.get_extra_info("peername")[:2]) if transport is not None else None
        with self._lock:
            self._requests.append(Recorded(request.path, dict(request.headers), body, peer))
        key = request.headers.get("x-api-key") or request.headers.get("Authorization") or ""
        if not key.removeprefix("Bearer ").strip():
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version header required")
        if any(m.get("role") == "system" for m in body.get("messages", [])):
            said_ = 'messages: Unexpected role "system". The Messages API accepts a top-level '
            return self._error(400, "invalid_request_error", said_ + "`system` parameter.")
        reply = self._next(body)
        if isinstance(reply, Error):
            return self._error(reply.status, reply.type, reply.message, reply.retry_after)
        try:
            usage = self._usage(body)
        except TooManyBreakpoints as exc:
            return self._error(400, "invalid_request_error", str(exc))
        n = next(self._ids)
        blocks, stop = self._blocks(reply, n)
        message: JSON = {
            "id": f"msg_fake_{n}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            content = [block for block, _ in blocks]
            for block, pieces in blocks:
                if block["type"] == "text":
                    block["text"] = "".join(pieces)
                elif block["type"] == "tool_use":
                    block["input"] = json.loads("".join(pieces) or "{}")
            usage["output_tokens"] = sum(len(p) for _, p in blocks)
            return web.json_response(message | {"content": content, "stop_reason": stop})
        return await self._stream(request, message, blocks, stop)

    def _blocks(self, reply: Text | ToolUse, n: int) -> tuple[list[tuple[JSON, list[str]]], str]:
        """The answer's content blocks, each with the pieces its deltas carry."""
        blocks: list[tuple[JSON, list[str]]] = []
        if isinstance(reply, Text):
            if reply.thinking:
                blocks.append(
                    (
                        {"type": "thinking", "thinking": "", "signature": ""},
                        split_words(reply.thinking),
                    )
                )
            content = reply.content
            pieces = split_words(content) if isinstance(content, str) else list(content)
            blocks.append(({"type": "text", "text": ""}, pieces))
            return blocks, reply.stop_reason
        if reply.content:
            blocks.append(({"type": "text", "text": ""}, split_words(reply.content)))
        size = max(1, math.ceil(len(reply.input_json) / max(1, reply.pieces)))
        pieces = [reply.input_json[i : i + size] for i in range(0, len(reply.input_json), size)]
        head = {
            "type": "tool_use",
            "id": reply.id or f"toolu_fake_{n}",
            "name": reply.name,
            "input": {},
        }
        blocks.append((head, pieces))
        return blocks, "tool_use"

    async def _stream(
        self, request: web.Request, message: JSON, blocks: list[tuple[JSON, list[str]]], stop: str
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(event: JSON) -> None:
            await resp.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())

        try:
            await send({"type": "message_start", "message": message})
            await send({"type": "ping"})
            output = 0
            for index, (block, pieces) in enumerate(blocks):
                await send({"type": "content_block_start", "index": index, "content_block": block})
                for piece in pieces:
                    output += 1
                    if block["type"] == "text":
                        delta = {"type": "text_delta", "text": piece}
                    elif block["type"] == "thinking":
                        delta = {"type": "thinking_delta", "thinking": piece}
                    else:
                        delta = {"type": "input_json_delta", "partial_json": piece}
                    await send({"type": "content_block_delta", "index": index, "delta": delta})
                    await asyncio.sleep(0)
                if block["type"] == "thinking":
                    delta = {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}
                    await send({"type": "content_block_delta", "index": index, "delta": delta})
                await send({"type": "content_block_stop", "index": index})
            usage = {"output_tokens": output} | {
                k: v for k, v in message["usage"].items() if k != "output_tokens"
            }
            end: JSON = {"stop_reason": stop, "stop_sequence": None}
            await send({"type": "message_delta", "delta": end, "usage": usage})
            await send({"type": "message_stop"})
        except ConnectionError:
            pass  # the client hung up first
        return resp
