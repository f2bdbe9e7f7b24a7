"""The baseline server for (c) and (f): Daphne serving a trivial ASGI app (HTTP 200, WebSockets
accepted and held), so the gateway's figures can be read as what it adds on top."""

import json
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    elif scope["type"] == "websocket":
        while True:
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.accept"})
            elif event["type"] == "websocket.receive":
                await send({"type": "websocket.send", "text": event.get("text") or ""})
            elif event["type"] == "websocket.disconnect":
                return


# The floor for (b): what any gateway on this stack pays a turn before doing anything of its
# own. `floor_application` speaks just enough of the gateway protocol for the bench client
# (a `chat.send` gets its `res`, then a `chat.final`) and makes the same streamed model call
# with aiohttp (the gateway's own client) to the fake model: the request body the gateway sent
# (BENCH_SAMPLE_BODY, as JSON) with the user message replaced. No Django, Channels,
# database, transcript, prompt assembly, lanes or logging.
_floor: dict[str, Any] = {}


async def _model_call(text: str) -> tuple[str, dict[str, Any]]:
    import aiohttp

    if "session" not in _floor:
        _floor["session"] = aiohttp.ClientSession()
        _floor["body"] = json.loads(os.environ["BENCH_SAMPLE_BODY"])
    template = _floor["body"]
    body = {**template, "messages": [*template["messages"][:-1], {"role": "user", "content": text}]}
    parts: list[str] = []
    usage: dict[str, Any] = {}
    url = os.environ["BENCH_FAKE_URL"] + "/chat/completions"
    async with _floor["session"].post(url, data=json.dumps(body)) as response:
        async for line in response.content:
            if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                continue
            chunk = json.loads(line[6:])
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or ():
                parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts), usage


def res_frame(request: dict[str, Any], run: str) -> str:
    """The `res` a `chat.send` gets: its run started at once."""
    result = {"run": run, "session": request["params"]["session"], "queued": "started"}
    return json.dumps({"type": "res", "id": request["id"], "ok": True, "result": result})


def final_frame(run: str, text: str, usage: dict[str, Any]) -> str:
    data = {"run": run, "text": text, "usage": usage, "stop_reason": "stop"}
    return json.dumps({"type": "event", "event": "chat.final", "data": data})


async def floor_application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        await application(scope, receive, send)
        return
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.disconnect":
            return
        elif event["type"] == "websocket.receive":
            request = json.loads(event.get("text") or "{}")
            run = uuid.uuid4().hex[:16]
            await send({"type": "websocket.send", "text": res_frame(request, run)})
            text, usage = await _model_call(request["params"]["text"])
            await send({"type": "websocket.send", "text": final_frame(run, text, usage)})
