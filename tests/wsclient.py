"""A tiny test client for the gateway protocol over any object with async send/recv of text."""

import asyncio
import itertools
import json
from typing import Any, Protocol

from channels.testing import WebsocketCommunicator


class TextSocket(Protocol):
    async def send(self, message: str) -> None: ...
    async def recv(self) -> str | bytes: ...


class ProtocolClient:
    def __init__(self, ws: TextSocket) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def frame(self, wait: float = 10.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), wait)
        value: dict[str, Any] = json.loads(raw)
        return value

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = f"r{next(self._ids)}"
        frame = {"type": "req", "id": request_id, "method": method, "params": params or {}}
        await self.ws.send(json.dumps(frame))
        return await self.response(request_id)

    async def response(self, request_id: str | None) -> dict[str, Any]:
        while True:
            frame = await self.frame()
            if frame["type"] == "res" and frame["id"] == request_id:
                return frame
            self.events.append(frame)

    async def until_event(self, names: set[str], run: str | None = None) -> dict[str, Any]:
        """Wait for (or find already received) an event with one of `names` for `run`."""
        for frame in self.events:
            if frame.get("event") in names and (run is None or frame["data"].get("run") == run):
                self.events.remove(frame)
                return frame
        while True:
            frame = await self.frame()
            if frame.get("event") in names and (run is None or frame["data"].get("run") == run):
                return frame
            self.events.append(frame)

    async def chat(self, text: str, **params: Any) -> tuple[dict[str, Any], list[str]]:
        """Send a message; return the terminal event and the deltas received before it."""
        res = await self.request("chat.send", {"text": text, **params})
        assert res["ok"], res
        run = res["result"]["run"]
        end = await self.until_event({"chat.final", "chat.error"}, run)
        deltas = [
            e["data"]["text"]
            for e in self.events
            if e.get("event") == "chat.delta" and e["data"]["run"] == run
        ]
        return end, deltas


class CommunicatorSocket:
    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, message: str) -> None:
        # send_input, not send_to: a real client may send an empty text frame
        await self.communicator.send_input({"type": "websocket.receive", "text": message})

    async def recv(self) -> str:
        return str(await self.communicator.receive_from(timeout=10))
