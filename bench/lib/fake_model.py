"""A lean fake model server for the benchmarks, run as its own process: OpenAI's chat completions
(`/v1/chat/completions`) and Anthropic's Messages API (`/v1/messages`).

It streams a fixed reply at once (0 ms mode) or after a set latency, and logs when each request
arrived and when its last byte was written, on the system-wide monotonic clock, so the bench can
subtract model time from what a client sees. Run: `python bench/lib/fake_model.py [--port 0]`; it
prints `PORT <n>` when listening. Control: `POST /bench/config` (JSON of `Config` fields) and
`GET /bench/log?clear=1` (the records, oldest first).
"""

import argparse
import asyncio
import json
import re
import socket
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

from aiohttp import web

from bench.lib.tokens import count_tokens

JSON = dict[str, Any]
WORDS = [
    *("the", "gateway", "keeps", "every", "turn", "on", "disk", "as", "plain", "lines", "so"),
    *("a", "restart", "loses", "nothing", "and", "the", "answer", "streams", "back", "while"),
    *("the", "model", "is", "still", "writing", "it", "which", "people", "notice", "first"),
]
CHUNK_WORDS = 6
CONFIG_KEY: web.AppKey["Config"] = web.AppKey("config", None)
LOG_KEY: web.AppKey[list[JSON]] = web.AppKey("log", list)


@dataclass
class Config:
    latency_ms: float = 0.0
    reply_words: int = 0  # 0: answer "echo: <last user message>"
    usage: str = "chars"  # "chars" (chars // 4, cheap) or "tokens" (o200k, tools included)
    keep_bodies: bool = False
    # False: the answer's sockets leave Nagle on, as some local model servers do (the reply and
    # the chunked encoding's end then go out as two writes, the second held for the client's ACK).
    nodelay: bool = True


# The time stamp openclaw puts before each user message (agents.context.stamp).
STAMP = re.compile(r"\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d \d\d:\d\d [^\]]+\] ")


def _last_user_text(body: JSON) -> str:
    """The newest user message without its time stamp: what the bench client sent."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            text = str(message["content"])
            stamped = STAMP.match(text)
            return text[stamped.end() :] if stamped else text
    return ""


def reply_text(config: Config, body: JSON) -> str:
    if config.reply_words <= 0:
        return "echo: " + _last_user_text(body)
    return " ".join(WORDS[i % len(WORDS)] for i in range(config.reply_words)) + "."


def chunks(text: str) -> list[str]:
    words = text.split(" ")
    return [
        " ".join(words[i : i + CHUNK_WORDS]) + (" " if i + CHUNK_WORDS < len(words) else "")
        for i in range(0, len(words), CHUNK_WORDS)
    ]


def prompt_tokens(config: Config, body: JSON) -> int:
    texts = [m.get("content") or "" for m in body.get("messages") or []]
    if config.usage == "tokens":
        tools = body.get("tools")
        tool_text = json.dumps(tools, separators=(",", ":")) if tools else ""
        return sum(count_tokens(t) for t in [*texts, tool_text] if isinstance(t, str))
    return max(1, sum(len(t) for t in texts if isinstance(t, str)) // 4)


def _nagle(request: web.Request, config: Config) -> None:
    """Turn TCP_NODELAY off on this connection when the config says so (aiohttp sets it on)."""
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None and not config.nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)


def _sse(payload: JSON | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


async def chat(request: web.Request) -> web.StreamResponse:
    start = time.monotonic_ns()
    config = request.app[CONFIG_KEY]
    raw = await request.read()
    body: JSON = json.loads(raw)
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000)
    text = reply_text(config, body)
    pieces = chunks(text)
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0}
    base["model"] = body.get("model", "bench")
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    _nagle(request, config)
    await resp.prepare(request)
    out = [_sse(base | {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})]
    out += [_sse(base | {"choices": [{"index": 0, "delta": {"content": p}}]}) for p in pieces]
    out.append(_sse(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    prompt = prompt_tokens(config, body)
    usage = {"prompt_tokens": prompt, "completion_tokens": len(pieces)}
    usage["total_tokens"] = prompt + len(pieces)
    if (body.get("stream_options") or {}).get("include_usage"):
        out.append(_sse(base | {"choices": [], "usage": usage}))
    out.append(_sse("[DONE]"))
    await resp.write(b"".join(out))
    await resp.write_eof()
    record: JSON = {
        "start_ns": start,
        "end_ns": time.monotonic_ns(),
        "marker": _last_user_text(body)[:200],
        "system_head": next(
            (
                str(m.get("content"))[:60]
                for m in body.get("messages") or []
                if m["role"] == "system"
            ),
            "",
        ),
        "tools": len(body.get("tools") or []),
        "prompt_tokens": prompt,
        "request_bytes": len(raw),
    }
    if config.keep_bodies:
        record["body"] = raw.decode("utf-8")
    request.app[LOG_KEY].append(record)
    return resp


def _event(payload: JSON) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    return f"event: {payload['type']}\ndata: {data}\n\n".encode()


async def messages(request: web.Request) -> web.StreamResponse:
    """Anthropic's Messages API, streamed: the same reply, log and latency as `chat`."""
    start = time.monotonic_ns()
    config = request.app[CONFIG_KEY]
    raw = await request.read()
    body: JSON = json.loads(raw)
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000)
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    blocks = users[-1]["content"] if users else []
    last = next((b["text"] for b in reversed(blocks) if b.get("type") == "text"), "")
    flat: JSON = {"messages": [{"role": "user", "content": last}]}
    pieces = chunks(reply_text(config, flat))
    prompt = max(1, len(raw) // 4)
    usage = {"input_tokens": prompt, "output_tokens": 1}
    usage |= {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    message: JSON = {"id": "msg_bench", "type": "message", "role": "assistant", "content": []}
    message |= {"model": body.get("model", "bench"), "stop_reason": None, "usage": usage}
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    _nagle(request, config)
    await resp.prepare(request)
    out = [_event({"type": "message_start", "message": message})]
    out.append(
        _event(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        )
    )
    out += [
        _event(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        )
        for p in pieces
    ]
    out.append(_event({"type": "content_block_stop", "index": 0}))
    end = {"stop_reason": "end_turn", "stop_sequence": None}
    out.append(
        _event({"type": "message_delta", "delta": end, "usage": {"output_tokens": len(pieces)}})
    )
    out.append(_event({"type": "message_stop"}))
    await resp.write(b"".join(out))
    await resp.write_eof()
    system = body.get("system") or []
    record: JSON = {
        "start_ns": start,
        "end_ns": time.monotonic_ns(),
        "marker": _last_user_text(flat)[:200],
        "system_head": (system[0].get("text", "") if system else "")[:60],
        "tools": len(body.get("tools") or []),
        "prompt_tokens": prompt,
        "request_bytes": len(raw),
    }
    if config.keep_bodies:
        record["body"] = raw.decode("utf-8")
    request.app[LOG_KEY].append(record)
    return resp


async def set_config(request: web.Request) -> web.Response:
    changes = await request.json()
    config = request.app[CONFIG_KEY]
    known = {f.name for f in fields(Config)}
    for name, value in changes.items():
        if name in known:
            setattr(config, name, value)
    return web.json_response(asdict(config))


async def get_log(request: web.Request) -> web.Response:
    log = request.app[LOG_KEY]
    records = list(log)
    if request.query.get("clear"):
        log.clear()
    return web.json_response(records)


def make_app(config: Config) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[CONFIG_KEY] = config
    app[LOG_KEY] = []
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/bench/config", set_config)
    app.router.add_get("/bench/log", get_log)
    return app


async def serve(port: int, config: Config) -> None:
    runner = web.AppRunner(make_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, Config(latency_ms=args.latency_ms)))


if __name__ == "__main__":
    main()
