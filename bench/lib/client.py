"""A minimal client of the gateway protocol: one WebSocket to `/ws/gateway/`, `chat` sends one
`chat.send` and waits for its run's end, with the client-side timestamps the scenarios need."""

import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Turn:
    sent_ns: int
    final_ns: int
    run: str
    data: JSON
    frames: int  # received while waiting for the end: the `res`, deltas, the final...


class GatewayClient:
    """One WebSocket to `/ws/gateway/`; `chat` sends one message and waits for its end."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def chat(self, text: str, session: str) -> Turn:
        request_id = str(next(self._ids))
        frame = {"type": "req", "id": request_id, "method": "chat.send"}
        frame["params"] = {"text": text, "session": session}  # type: ignore[assignment]
        payload = json.dumps(frame)
        run: str | None = None
        ended: dict[str, tuple[int, JSON]] = {}
        sent = time.monotonic_ns()
        await self.ws.send(payload)
        frames = 0
        while run is None or run not in ended:
            raw = await self.ws.recv()
            frames += 1
            now = time.monotonic_ns()
            message = json.loads(raw)
            if message["type"] == "res" and message["id"] == request_id:
                if not message["ok"]:
                    raise RuntimeError(f"chat.send refused: {message['error']}")
                run = message["result"]["run"]
            elif message["type"] == "event" and message["event"] in ("chat.final", "chat.error"):
                ended[message["data"]["run"]] = (now, message)
        final_ns, final = ended[run]
        if final["event"] == "chat.error":
            raise RuntimeError(f"run failed: {final['data']}")
        return Turn(sent, final_ns, run, final["data"], frames)


class _Server(Protocol):
    @property
    def ws_url(self) -> str: ...


@contextlib.asynccontextmanager
async def connect(gateway: _Server) -> AsyncIterator[GatewayClient]:
    async with websockets.connect(
        gateway.ws_url, open_timeout=30, ping_interval=None, max_size=2**24
    ) as ws:
        yield GatewayClient(ws)
