"""(c) Idle WebSocket connections: the gateway's RSS before and after opening thousands of
authenticated sockets that then say nothing, and what they do to one turn's overhead.
Baseline: the same sockets on a bare Daphne (RSS), the same gateway before they opened (turns).
"""

import asyncio
import json
import statistics
from collections.abc import Awaitable, Callable
from typing import Protocol

import websockets
from websockets.asyncio.client import ClientConnection

from bench.lib.client import connect
from bench.lib.harness import (
    BareDaphne,
    Context,
    Gateway,
    Report,
    Row,
    at_most,
    rss_mb,
    running_gateway,
)
from bench.scenarios.turns import match

OPEN_CONCURRENCY = 64
Probe = Callable[[], Awaitable[float]]


class Server(Protocol):
    @property
    def pid(self) -> int: ...

    @property
    def ws_url(self) -> str: ...


async def open_many(url: str, n: int) -> list[ClientConnection]:
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one() -> ClientConnection:
        async with gate:
            return await websockets.connect(url, open_timeout=120, ping_interval=None)

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def close_all(sockets: list[ClientConnection]) -> None:
    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(ws.close() for ws in sockets[start : start + 500]))


async def alive(sockets: list[ClientConnection], sample: int = 20) -> int:
    """How many of a sample of sockets still answer a `health` request."""
    step = max(1, len(sockets) // sample)
    answered = 0
    for ws in sockets[::step][:sample]:
        await ws.send(json.dumps({"type": "req", "id": "h", "method": "health"}))
        async with asyncio.timeout(10):
            answered += json.loads(await ws.recv()).get("ok") is True
    return answered


def overhead_probe(ctx: Context, gateway: Gateway, turns: int) -> Probe:
    """Median overhead (ms, model time excluded) of a few turns on one more socket."""
    rounds = iter(range(1_000))

    async def probe() -> float:
        sent: dict[str, tuple[int, int]] = {}
        k = next(rounds)
        await ctx.fake.log()
        async with connect(gateway) as client:
            for i in range(turns):
                marker = f"probe {k} {i}"
                turn = await client.chat(marker, f"agent:main:probe{k}-{i // 10}")
                sent[marker] = (turn.sent_ns, turn.final_ns)
        return statistics.median(t.overhead for t in match(sent, await ctx.fake.log()))

    return probe


async def measure(server: Server, n: int, settle: float, probe: Probe | None) -> dict[str, float]:
    await asyncio.sleep(settle)
    before = rss_mb(server.pid)
    turn_before = await probe() if probe else 0.0
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    sockets = await open_many(server.ws_url, n)
    opened = loop.time() - t0
    await asyncio.sleep(settle)
    after = rss_mb(server.pid)
    answering = await alive(sockets) if probe else 0  # the bare app speaks no protocol
    turn_after = await probe() if probe else 0.0
    await close_all(sockets)
    await asyncio.sleep(settle)
    return {
        "rss_before_mb": before,
        "rss_after_mb": after,
        "rss_after_close_mb": rss_mb(server.pid),
        "kb_per_connection": (after - before) * 1000 / n,
        "open_seconds": opened,
        "sample_answering": answering,
        "turn_overhead_ms_before": turn_before,
        "turn_overhead_ms_after": turn_after,
    }


async def idle_connections(ctx: Context) -> Report:
    n, settle, probe_turns = (500, 0.5, 15) if ctx.quick else (5000, 3.0, 50)
    await ctx.fake.configure(latency_ms=0, reply_words=0, usage="chars", keep_bodies=False)
    with running_gateway(ctx.homes.fresh(), ctx.fake) as gateway:
        ours = await measure(gateway, n, settle, overhead_probe(ctx, gateway, probe_turns))
    bare = BareDaphne().start()
    try:
        base = await measure(bare, n, settle, None)
    finally:
        bare.stop()
    label = "bare Daphne, trivial ASGI app"
    target = "≤ 400" if n == 5000 else f"≤ 400 at 5,000 ({n:,} here)"
    rows = [
        Row("c", f"RSS with {n:,} idle sockets", ours["rss_after_mb"], "MB",
            base["rss_after_mb"], label, target,
            at_most(ours["rss_after_mb"], 400) if n == 5000 else None),
        Row("c", "memory per idle socket", ours["kb_per_connection"], "KB",
            base["kb_per_connection"], label),
        Row("c", f"time to open {n:,} sockets", ours["open_seconds"], "s",
            base["open_seconds"], label),
        Row("c", f"turn overhead p50 with {n:,} idle sockets", ours["turn_overhead_ms_after"],
            "ms", ours["turn_overhead_ms_before"], "same gateway, no idle sockets"),
    ]  # fmt: skip
    return Report(rows, {"connections": n, "gateway": ours, "baseline_bare_daphne": base})
