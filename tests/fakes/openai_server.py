"""Fake OpenAI-compatible HTTP server for tests.

Point the real ``openai`` SDK at it (``base_url=fake.base_url``) and script what it answers.

Endpoints: ``POST /v1/chat/completions`` (streamed SSE and plain JSON), ``GET /v1/models``,
``POST /v1/embeddings`` (deterministic hash-based vectors, float or base64),
``POST /v1/audio/transcriptions`` (multipart; answers ``{"text": ...}``: the text given to
``fake.transcribe_as(text)``, else ``"transcript of <file name>"``; recorded with the body
``{"model", "file_name", "file_bytes", "content_type"}``). ``image_urls(body)`` lists the
``image_url`` parts of a chat request's messages.

Scripting: ``fake.script(*replies)`` appends to a FIFO consumed by chat completions; an
empty script answers ``Text("echo: <last user message>")``, without the time stamp openclaw
puts before each user message (``said``). A reply is one of

* ``Text(content, reasoning=(), finish_reason="stop", chunk_delay=0, latency=None, usage=None)``
  -- a ``str`` is streamed word by word (spaces kept), a sequence of strings chunk by chunk;
  ``reasoning`` is streamed as ``delta.reasoning_content`` before the text.
* ``ToolCalls(calls, content="", ...)`` with ``ToolCall(name, arguments="{}", pieces=3, id=None)``
  -- finish_reason ``"tool_calls"``; arguments are split into ``pieces`` deltas.
* ``Error(status, message, type, code, retry_after)`` or ``Error.rate_limit(retry_after=1)``,
  ``Error.server_error()``, ``Error.context_length()``.
* ``CutStream(content, after_chunks=2)`` -- a few chunks, then the connection is dropped.
* ``Hang(partial="")`` -- never finishes (until the client gives up or the server stops).
* ``Garbage(data="this is not json")`` -- a ``data:`` line that is not JSON.
* ``Raw(body, status=200, content_type="text/event-stream")`` -- a body sent as it is, for wire
  details the other replies never produce (CRLF line ends, a proxy's HTML error page).
* a callable ``(request_json) -> reply`` for replies that depend on the request.

Reasoning models (ids starting ``gpt-5`` or ``o<digit>``, as OpenAI's) refuse ``max_tokens`` and a
``temperature`` other than 1 with HTTP 400 and OpenAI's own error body (``reasoning_error``).
Azure OpenAI: ``POST /openai/deployments/<name>/chat/completions?api-version=…`` with an
``api-key`` header (401 without one, 404 without ``api-version``); the deployment is the model.

Usage: prompt_tokens = chars of all message contents // 4 (min 1), completion_tokens = number
of content, reasoning and tool-argument chunks; ``Usage(...)`` on a reply overrides them.
``fake.requests`` lists ``RecordedRequest(method, path, headers, body, peer)`` (``peer``: the
client's address, the same for requests over one kept-alive connection);
``fake.wait_for_requests(n)`` blocks until n arrived (threaded mode only).

Run it threaded (``with FakeOpenAI() as fake:`` / ``start()`` / ``stop()``) or inside the
running loop (``async with FakeOpenAI() as fake:`` / ``await astart()`` / ``await astop()``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fakes.base import FakeServer

JSON = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """Overrides for the reported usage; ``None`` keeps the estimate."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0


@dataclass(frozen=True)
class Text:
    content: str | Sequence[str]
    reasoning: str | Sequence[str] = ()
    finish_reason: str = "stop"
    chunk_delay: float = 0.0
    latency: float | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str | Sequence[str] = "{}"
    pieces: int = 3
    id: str | None = None


@dataclass(frozen=True)
class ToolCalls:
    calls: ToolCall | Sequence[ToolCall]
    content: str | Sequence[str] = ""
    chunk_delay: float = 0.0
    latency: float | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class Error:
    status: int
    message: str = "fake error"
    type: str = "server_error"
    code: str | None = None
    retry_after: float | None = None

    @classmethod
    def rate_limit(cls, retry_after: float | None = None) -> Error:
        return cls(429, "Rate limit reached", "requests", "rate_limit_exceeded", retry_after)

    @classmethod
    def server_error(cls) -> Error:
        return cls(500, "The server had an error while processing your request.")

    @classmethod
    def context_length(cls) -> Error:
        msg = "This model's maximum context length is 8192 tokens."
        return cls(400, msg, "invalid_request_error", "context_length_exceeded")


@dataclass(frozen=True)
class CutStream:
    content: str | Sequence[str] = "this answer will be cut short"
    after_chunks: int = 2


@dataclass(frozen=True)
class Hang:
    partial: str | Sequence[str] = ""


@dataclass(frozen=True)
class Garbage:
    data: str = "this is not json"


@dataclass(frozen=True)
class Raw:
    body: str | bytes
    status: int = 200
    content_type: str = "text/event-stream"


Reply = Text | ToolCalls | Error | CutStream | Hang | Garbage | Raw
Scripted = Reply | Callable[[JSON], Reply]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: JSON
    peer: tuple[str, int] | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


def split_words(text: str) -> list[str]:
    """``"Hello big world"`` -> ``["Hello ", "big ", "world"]``."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _pieces(value: str | Sequence[str]) -> list[str]:
    return split_words(value) if isinstance(value, str) else list(value)


def _arg_pieces(call: ToolCall) -> list[str]:
    args = call.arguments
    if not isinstance(args, str):
        return list(args)
    size = max(1, math.ceil(len(args) / max(1, call.pieces)))
    return [args[i : i + size] for i in range(0, len(args), size)] or [""]


def _calls(reply: ToolCalls) -> list[ToolCall]:
    return [reply.calls] if isinstance(reply.calls, ToolCall) else list(reply.calls)


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _messages(body: JSON) -> list[JSON]:
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


# The stamp openclaw renders before each user message (agents.context.stamp):
# `[Tue 2026-12-01 22:40 CET] ` or, with a sender, `[Tue 2026-12-01 22:40 CET · Ada] `.
STAMP = re.compile(r"\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d [^\]]+\] ")


def said(content: object) -> str:
    """What a user message says: its text without a leading time stamp."""
    text = _text_of(content)
    stamped = STAMP.match(text)
    return text[stamped.end() :] if stamped else text


def image_urls(body: JSON) -> list[str]:
    """The ``image_url`` parts' URLs in a chat request's messages, in order."""
    return [
        str((part.get("image_url") or {}).get("url", ""))
        for message in _messages(body)
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, dict) and part.get("type") == "image_url"
    ]


def user_texts(body: JSON) -> list[str]:
    """The user messages of a request body, without their time stamps."""
    return [said(m.get("content")) for m in _messages(body) if m.get("role") == "user"]


def _last_user_text(body: JSON) -> str:
    return (user_texts(body) or [""])[-1]


def _usage(body: JSON, override: Usage | None, deltas: list[JSON]) -> JSON:
    u = override or Usage()
    chars = sum(len(_text_of(m.get("content"))) for m in _messages(body))
    prompt = u.prompt_tokens if u.prompt_tokens is not None else max(1, chars // 4)
    # A tool call's header delta (id + name) carries no generated text, so it is not counted.
    chunks = sum("id" not in d.get("tool_calls", [{}])[0] for d in deltas)
    done = u.completion_tokens if u.completion_tokens is not None else chunks
    reasoning = sum("reasoning_content" in d for d in deltas)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done} | {
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def _envelope(body: JSON, n: int, kind: str) -> JSON:
    model = body.get("model", "gpt-fake")
    return {"id": f"chatcmpl-fake-{n}", "object": kind, "created": int(time.time()), "model": model}


def _deltas(reply: Text | ToolCalls, call_prefix: str) -> list[JSON]:
    if isinstance(reply, Text):
        return [{"reasoning_content": p} for p in _pieces(reply.reasoning)] + [
            {"content": p} for p in _pieces(reply.content)
        ]
    out: list[JSON] = [{"content": p} for p in _pieces(reply.content)]
    for i, call in enumerate(_calls(reply)):
        head = {"name": call.name, "arguments": ""}
        call_id = call.id or f"{call_prefix}_{i}"
        out.append(
            {"tool_calls": [{"index": i, "id": call_id, "type": "function", "function": head}]}
        )
        out += [
            {"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in _arg_pieces(call)
        ]
    return out


def _message(reply: Text | ToolCalls, call_prefix: str) -> JSON:
    content = "".join(_pieces(reply.content))
    msg: JSON = {"role": "assistant", "content": content or None, "refusal": None}
    if isinstance(reply, Text):
        msg["content"] = content
        if reasoning := "".join(_pieces(reply.reasoning)):
            msg["reasoning_content"] = reasoning
        return msg
    msg["tool_calls"] = [
        {
            "id": call.id or f"{call_prefix}_{i}",
            "type": "function",
            "function": {"name": call.name, "arguments": "".join(_arg_pieces(call))},
        }
        for i, call in enumerate(_calls(reply))
    ]
    return msg


REASONING_MODEL = re.compile(r"^(gpt-5|o\d)")


def reasoning_error(body: JSON) -> JSON | None:
    """OpenAI's 400 body for what its reasoning models refuse, or None when the request is fine
    (or the model is no reasoning model)."""
    if not REASONING_MODEL.match(str(body.get("model", ""))):
        return None
    if "max_tokens" in body:
        return {
            "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "type": "invalid_request_error",
            "param": "max_tokens",
            "code": "unsupported_parameter",
        }
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        return {
            "message": f"Unsupported value: 'temperature' does not support {temperature} with "
            "this model. Only the default (1) value is supported.",
            "type": "invalid_request_error",
            "param": "temperature",
            "code": "unsupported_value",
        }
    return None


def _embedding(text: str, dim: int) -> list[float]:
    raw = struct.unpack(f"<{dim}I", hashlib.shake_256(text.encode()).digest(4 * dim))
    vec = [x / 2**31 - 1.0 for x in raw]
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / norm for x in vec]


class FakeOpenAI(FakeServer):
    """One fake server; every instance has its own port, script and request log."""

    def __init__(
        self,
        *,
        models: Sequence[str] = ("gpt-fake",),
        latency: float = 0.0,
        embedding_dim: int = 8,
        host: str = "127.0.0.1",
    ) -> None:
        self.models = tuple(models)
        self.latency = latency
        self.embedding_dim = embedding_dim
        super().__init__(host)
        self._script: deque[Scripted] = deque()
        self._requests: list[RecordedRequest] = []
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._stopping: asyncio.Event | None = None
        self._transcript: str | None = None

    def transcribe_as(self, text: str) -> Self:
        """What every transcription answers from now on."""
        self._transcript = text
        return self

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, *replies: Scripted) -> Self:
        with self._cond:
            self._script.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        with self._cond:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"expected {n} requests, got {len(self._requests)}")
            return list(self._requests)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._azure)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)

    async def astart(self) -> Self:
        self._stopping = asyncio.Event()
        return await super().astart()

    async def astop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # wakes the replies still pausing, before the runner waits
        await super().astop()

    async def _pause(self, seconds: float | None) -> bool:
        """Sleep (``None``: forever), but wake when the server stops; True means stopping."""
        stopping = self._stopping
        if stopping is None:
            return True
        if seconds is None or seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), seconds)
        return stopping.is_set()

    async def _record(self, request: web.Request) -> JSON:
        body: JSON = {}
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                loaded = await request.json()
                body = loaded if isinstance(loaded, dict) else {"input": loaded}
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        transport = request.transport
        peer = tuple(transport.get_extra_info("peername")[:2]) if transport is not None else None
        recorded = RecordedRequest(request.method, request.path, headers, body, peer)
        with self._cond:
            self._requests.append(recorded)
            self._cond.notify_all()
        return body

    def _next_reply(self, body: JSON) -> Reply:
        with self._cond:
            item = self._script.popleft() if self._script else None
        if item is None:
            return Text("echo: " + _last_user_text(body))
        return item(body) if callable(item) else item

    async def _models(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return web.json_response({"error": {"message": "file is required"}}, status=400)
        data = upload.file.read()
        body = {
            "model": str(form.get("model", "")),
            "file_name": upload.filename,
            "file_bytes": len(data),
            "content_type": upload.content_type,
        }
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        with self._cond:
            self._requests.append(RecordedRequest(request.method, request.path, headers, body))
            self._cond.notify_all()
        text = self._transcript or f"transcript of {upload.filename}"
        return web.json_response({"text": text})

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        raw = body.get("input", "")
        many = isinstance(raw, list) and bool(raw) and not isinstance(raw[0], int)
        texts = [t if isinstance(t, str) else json.dumps(t) for t in (raw if many else [raw])]
        dim = int(body.get("dimensions") or self.embedding_dim)
        as_b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            vec = _embedding(text, dim)
            packed = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": packed if as_b64 else vec})
        tokens = sum(max(1, len(t) // 4) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        model = body.get("model", "fake-embedding")
        return web.json_response({"object": "list", "data": data, "model": model, "usage": usage})

    async def _azure(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("api-key"):
            await self._record(request)
            err = {"code": "401", "message": "Access denied due to invalid subscription key."}
            return web.json_response({"error": err}, status=401)
        if not request.query.get("api-version"):
            await self._record(request)
            err = {"code": "404", "message": "Resource not found"}
            return web.json_response({"error": err}, status=404)
        return await self._chat(request, model=request.match_info["deployment"])

    async def _chat(self, request: web.Request, model: str | None = None) -> web.StreamResponse:
        body = await self._record(request)
        if model is not None:
            body = body | {"model": model}
        if (refused := reasoning_error(body)) is not None:
            return web.json_response({"error": refused}, status=400)
        reply = self._next_reply(body)
        latency = reply.latency if isinstance(reply, Text | ToolCalls) else None
        if await self._pause(self.latency if latency is None else latency):
            return _drop(request)
        if isinstance(reply, Error):
            err = {"message": reply.message, "type": reply.type, "param": None, "code": reply.code}
            headers = {} if reply.retry_after is None else {"Retry-After": f"{reply.retry_after:g}"}
            return web.json_response({"error": err}, status=reply.status, headers=headers)
        if isinstance(reply, Raw):
            raw = reply.body.encode() if isinstance(reply.body, str) else reply.body
            return web.Response(body=raw, status=reply.status, content_type=reply.content_type)
        if body.get("stream"):
            return await self._stream(request, body, reply)
        if isinstance(reply, Hang):
            await self._pause(None)
            return _drop(request)
        if isinstance(reply, Garbage):
            return web.Response(text=reply.data, content_type="application/json")
        target = Text(reply.content) if isinstance(reply, CutStream) else reply
        n = next(self._ids)
        deltas = _deltas(target, f"call_{n}")
        choice = {"index": 0, "message": _message(target, f"call_{n}"), "logprobs": None}
        payload = _envelope(body, n, "chat.completion") | {
            "choices": [choice | {"finish_reason": _finish_reason(target)}],
            "usage": _usage(body, target.usage, deltas),
        }
        if isinstance(reply, CutStream):
            raw = json.dumps(payload).encode()
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            resp.content_length = len(raw)
            await resp.prepare(request)
            await resp.write(raw[: len(raw) // 2])
            return _drop(request)
        return web.json_response(payload)

    async def _stream(
        self, request: web.Request, body: JSON, reply: Text | ToolCalls | CutStream | Hang | Garbage
    ) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        n = next(self._ids)
        options = body.get("stream_options")
        with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        base = _envelope(body, n, "chat.completion.chunk")

        async def send(delta: JSON | None, finish: str | None = None, raw: str = "") -> None:
            if delta is not None:
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                chunk = {**base, "choices": [choice]} | ({"usage": None} if with_usage else {})
                raw = json.dumps(chunk)
            await resp.write(f"data: {raw}\n\n".encode())

        try:
            await send({"role": "assistant", "content": "", "refusal": None})
            if isinstance(reply, Garbage):
                await send(None, raw=reply.data)
                await send(None, raw="[DONE]")
                return resp
            if isinstance(reply, CutStream | Hang):
                text = Text(reply.content if isinstance(reply, CutStream) else reply.partial)
                deltas = _deltas(text, "")
                limit = reply.after_chunks if isinstance(reply, CutStream) else len(deltas)
                for delta in deltas[:limit]:
                    await send(delta)
                if isinstance(reply, Hang):
                    await self._pause(None)
                return _drop(request)
            deltas = _deltas(reply, f"call_{n}")
            for delta in deltas:
                if await self._pause(reply.chunk_delay):
                    return _drop(request)
                await send(delta)
            await send({}, _finish_reason(reply))
            if with_usage:
                usage = _usage(body, reply.usage, deltas)
                await send(None, raw=json.dumps({**base, "choices": [], "usage": usage}))
            await send(None, raw="[DONE]")
        except ConnectionError:
            pass  # the client hung up first; nothing left to tell it
        return resp


def _finish_reason(reply: Text | ToolCalls) -> str:
    return reply.finish_reason if isinstance(reply, Text) else "tool_calls"


def _drop(request: web.Request) -> web.StreamResponse:
    """Abort the TCP connection so the client sees a broken response, not a clean end."""
    if request.transport is not None:
        request.transport.abort()
    return web.StreamResponse()
