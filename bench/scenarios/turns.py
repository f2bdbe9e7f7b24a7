"""(a) turn overhead and (b) throughput through `/ws/gateway/`, model time excluded.

The fake model logs when each request arrived and when its last byte left; the client logs when
`chat.send` left and `chat.final` arrived (one monotonic clock for both processes). Overhead =
total - model time. Baseline: the same request sent straight to the fake with the openai SDK.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from bench.lib.client import connect
from bench.lib.harness import (
    FLOOR_APP,
    JSON,
    MODEL,
    BareDaphne,
    Context,
    FakeModel,
    Report,
    Row,
    at_most,
    cpu_seconds,
    ms,
    percentile,
    running_gateway,
)

WARMUP = 10
TURNS_PER_SESSION = 20  # (a) rotates sessions so history stays short, as in a real chat
# (a) also sends a quarter as many messages this long after the previous answer, as a person
# would: back to back, each message finds the previous turn's after-answer work (usage,
# journal close, log line) still holding the database thread and the GIL; after a pause it
# finds a gateway gone idle instead (bench/README.md compares the two).
PAUSE_S = 0.02


@dataclass(frozen=True, slots=True)
class Timing:
    total: float
    inbound: float  # chat.send sent -> model request arrived
    outbound: float  # model's last byte -> chat.final received
    model: float

    @property
    def overhead(self) -> float:
        return self.total - self.model


def match(sent: dict[str, tuple[int, int]], records: list[JSON]) -> list[Timing]:
    """Join client timestamps with the fake's log by the user message (the marker)."""
    by_marker = {r["marker"]: r for r in records}
    out = []
    for marker, (start, end) in sent.items():
        r = by_marker[marker]
        out.append(
            Timing(
                total=ms(end - start),
                inbound=ms(r["start_ns"] - start),
                outbound=ms(end - r["end_ns"]),
                model=ms(r["end_ns"] - r["start_ns"]),
            )
        )
    return out


def sdk_client(fake: FakeModel) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=fake.base_url, api_key="bench", max_retries=0, timeout=60)


async def direct_call(client: AsyncOpenAI, body: JSON, marker: str) -> tuple[int, int]:
    """One streamed completion with the gateway's own request body, user message replaced."""
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "messages": [*body["messages"][:-1], {"role": "user", "content": marker}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if body.get("tools"):
        kwargs["tools"] = body["tools"]
    sent = time.monotonic_ns()
    stream = await client.chat.completions.create(**kwargs)
    async for _ in stream:
        pass
    return sent, time.monotonic_ns()


async def sample_body(ctx: Context, client_chat: Any) -> JSON:
    """Warm the gateway up and keep the body of its last model request."""
    await ctx.fake.configure(latency_ms=0, reply_words=0, usage="chars", keep_bodies=True)
    for i in range(WARMUP):
        await client_chat(f"warm {i}", "agent:main:warm")
    body: JSON = json.loads((await ctx.fake.log())[-1]["body"])
    await ctx.fake.configure(keep_bodies=False)
    return body


@contextlib.contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy record of the gateway while the block runs, when asked and installed
    (`.svg` flame graph, `.txt` collapsed stacks, anything else speedscope JSON)."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if out is None or spy is None:
        yield
        return
    formats = {".svg": "flamegraph", ".txt": "raw"}  # raw: collapsed stacks, one a line
    fmt = formats.get(out.suffix, "speedscope")
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            *os.environ.get("BENCH_PYSPY_ARGS", "").split(),
            "--format",
            fmt,
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # let it attach
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


async def _gateway_turns(
    ctx: Context, n: int, profile: Path | None = None, paused_n: int = 0, **env: str
) -> tuple[list[Timing], list[Timing], float, int, JSON]:
    """`n` back-to-back turns (then `paused_n` more, each `PAUSE_S` after the previous answer)
    through a fresh gateway: their timings, the gateway's CPU seconds over the first `n`, the
    frames it sent, and the body of its model request."""
    sent: dict[str, tuple[int, int]] = {}
    paused: dict[str, tuple[int, int]] = {}
    frames = 0
    tag = env.get("OPENCLAW_MODEL", "openai").split("/")[0] + str(len(env))
    with running_gateway(ctx.homes.fresh(), ctx.fake, **env) as gateway:
        async with connect(gateway) as client:
            body = await sample_body(ctx, client.chat)
            with profiled(gateway.pid, profile):
                cpu = cpu_seconds(gateway.pid)
                for i in range(n):
                    marker = f"bench a {tag} {i}"
                    turn = await client.chat(marker, f"agent:main:a{i // TURNS_PER_SESSION}")
                    sent[marker] = (turn.sent_ns, turn.final_ns)
                    frames += turn.frames
                cpu = cpu_seconds(gateway.pid) - cpu
            for i in range(paused_n):
                await asyncio.sleep(PAUSE_S)
                marker = f"bench a paused {tag} {i}"
                turn = await client.chat(marker, f"agent:main:ap{i // TURNS_PER_SESSION}")
                paused[marker] = (turn.sent_ns, turn.final_ns)
        records = await ctx.fake.log()
    return match(sent, records), match(paused, records), cpu, frames, body


async def _direct(ctx: Context, body: JSON, n: int, prefix: str) -> list[Timing]:
    """`n` streamed calls of the gateway's request body straight to the fake with the openai
    SDK (its default transport)."""
    base_sent: dict[str, tuple[int, int]] = {}
    sdk = sdk_client(ctx.fake)
    for i in range(WARMUP):
        await direct_call(sdk, body, f"warm {prefix} {i}")
    for i in range(n):
        marker = f"{prefix} a {i}"
        base_sent[marker] = await direct_call(sdk, body, marker)
    await sdk.close()
    return match(base_sent, await ctx.fake.log())


async def turn_overhead(ctx: Context, profile: Path | None = None) -> Report:
    n = 100 if ctx.quick else 1000
    ours, idle, cpu, frames, body = await _gateway_turns(ctx, n, profile, n // 4)
    base = await _direct(ctx, body, n, "direct")
    # The same turns through Anthropic's SDK, and against a server that leaves Nagle on.
    claude, _, claude_cpu, _, _ = await _gateway_turns(ctx, n, OPENCLAW_MODEL=f"anthropic/{MODEL}")
    await ctx.fake.configure(nodelay=False)
    try:
        nagle, _, _, _, _ = await _gateway_turns(ctx, n // 2)
        nagle_base = await _direct(ctx, body, n // 4, "direct nagle")
    finally:
        await ctx.fake.configure(nodelay=True)

    def p(values: list[Timing], attr: str, q: float) -> float:
        return percentile([getattr(t, attr) for t in values], q)

    label = "openai SDK straight to the fake"
    nagle_label = "openai SDK straight to it (default transport)"
    rows = [
        Row("a", "turn overhead p50", p(ours, "overhead", 50), "ms",
            p(base, "overhead", 50), label, "≤ 5 (OpenClaw 226, nanobot 69)",
            at_most(p(ours, "overhead", 50), 5)),
        Row("a", "turn overhead p99", p(ours, "overhead", 99), "ms",
            p(base, "overhead", 99), label, "≤ 20", at_most(p(ours, "overhead", 99), 20)),
        Row("a", "inbound → model request p50", p(ours, "inbound", 50), "ms",
            p(base, "inbound", 50), label),
        Row("a", "model end → chat.final p50", p(ours, "outbound", 50), "ms",
            p(base, "outbound", 50), label),
        Row("a", "round trip p50 (model incl.)", p(ours, "total", 50), "ms",
            p(base, "total", 50), label),
        Row("a", f"turn overhead p50, {PAUSE_S * 1000:.0f} ms after the last answer",
            p(idle, "overhead", 50), "ms", p(base, "overhead", 50), label),
        Row("a", "gateway CPU per turn (mean)", 1000 * cpu / n, "ms"),
        Row("a", "frames to the client per turn (mean)", frames / n, "frames"),
        Row("a", "turn overhead p50 / p99 (anthropic/)", p(claude, "overhead", 50), "ms",
            p(ours, "overhead", 50), "openai/ in this run", "≤ 5",
            at_most(p(claude, "overhead", 50), 5)),
        Row("a", "gateway CPU per turn (anthropic/, mean)", 1000 * claude_cpu / n, "ms"),
        Row("a", "turn overhead p50, model server without TCP_NODELAY",
            p(nagle, "overhead", 50), "ms", p(nagle_base, "overhead", 50), nagle_label,
            "≤ openai/ + 2", at_most(p(nagle, "overhead", 50), p(ours, "overhead", 50) + 2)),
    ]  # fmt: skip
    details = {
        "turns": n,
        "gateway_cpu_s": cpu,
        "turns_per_session": TURNS_PER_SESSION,
        "request_bytes": len(json.dumps(body)),
        "gateway": _summary(ours),
        "gateway_after_pause": _summary(idle),
        "pause_s": PAUSE_S,
        "baseline_direct_sdk": _summary(base),
        "gateway_anthropic": _summary(claude),
        "gateway_without_nodelay": _summary(nagle),
        "baseline_direct_sdk_without_nodelay": _summary(nagle_base),
    }
    return Report(rows, details)


async def _floor(ctx: Context, body: JSON, sessions: int, turns: int) -> tuple[float, float]:
    """(b)'s load against the floor server: turns per second and CPU seconds per turn."""
    server = BareDaphne(app=FLOOR_APP, env=floor_env(ctx, body)).start()
    try:
        return await load(server, sessions, turns, "floor")
    finally:
        server.stop()
        await ctx.fake.log()  # drop its requests from the fake's log


def floor_env(ctx: Context, body: JSON) -> dict[str, str]:
    """What `bare_asgi.floor_application` needs: the fake's URL, the gateway's request body."""
    return {"BENCH_FAKE_URL": ctx.fake.base_url, "BENCH_SAMPLE_BODY": json.dumps(body)}


async def load(server: Any, sessions: int, turns: int, prefix: str) -> tuple[float, float]:
    """(b)'s load (`sessions` sockets, `turns` messages each, all at once) against `server` (a
    gateway or a bare Daphne): turns per second, and the server's CPU seconds per turn."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(connect(server)) for _ in range(sessions)]
        for client in clients[:WARMUP]:
            await client.chat(f"warm {prefix}", f"{prefix}-warm")

        async def user(k: int) -> None:
            for i in range(turns):
                await clients[k].chat(f"{prefix} b {k} {i}", f"{prefix}{k}")

        started, cpu = time.monotonic(), cpu_seconds(server.pid)
        await asyncio.gather(*(user(k) for k in range(sessions)))
        wall, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu
    done = sessions * turns
    return done / wall, cpu / done


def _summary(timings: list[Timing]) -> JSON:
    out: JSON = {}
    for attr in ("overhead", "inbound", "outbound", "model", "total"):
        values = [getattr(t, attr) for t in timings]
        out[attr] = {
            "p50": percentile(values, 50),
            "p99": percentile(values, 99),
            "mean": statistics.fmean(values),
            "max": max(values),
        }
    return out


async def throughput(ctx: Context, profile: Path | None = None) -> Report:
    sessions, turns = (100, 1) if ctx.quick else (200, 10)
    sent: dict[str, tuple[int, int]] = {}
    with running_gateway(ctx.homes.fresh(), ctx.fake) as gateway:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(connect(gateway)) for _ in range(sessions)]
            body = await sample_body(ctx, clients[0].chat)

            async def user(k: int) -> None:
                for i in range(turns):
                    marker = f"bench b {k} {i}"
                    turn = await clients[k].chat(marker, f"agent:main:b{k}")
                    sent[marker] = (turn.sent_ns, turn.final_ns)

            with profiled(gateway.pid, profile):
                started, cpu = time.monotonic(), cpu_seconds(gateway.pid)
                await asyncio.gather(*(user(k) for k in range(sessions)))
                wall, cpu = time.monotonic() - started, cpu_seconds(gateway.pid) - cpu
        records = await ctx.fake.log()
    ours = match(sent, records)
    sdk = sdk_client(ctx.fake)
    base_sent: dict[str, tuple[int, int]] = {}

    async def direct_user(k: int) -> None:
        for i in range(turns):
            marker = f"direct b {k} {i}"
            base_sent[marker] = await direct_call(sdk, body, marker)

    await asyncio.gather(*(direct_call(sdk, body, f"warm {k}") for k in range(sessions)))
    started = time.monotonic()
    await asyncio.gather(*(direct_user(k) for k in range(sessions)))
    base_wall = time.monotonic() - started
    await sdk.close()
    base = match(base_sent, await ctx.fake.log())
    floor_rate, floor_cpu = await _floor(ctx, body, sessions, turns)
    rate, base_rate = len(ours) / wall, len(base) / base_wall
    totals = [t.total for t in ours]
    base_totals = [t.total for t in base]
    label = f"{sessions} concurrent openai SDK streams"
    rows = [
        Row("b", f"throughput, {sessions} sessions", rate, "turns/s", base_rate, label,
            "≥ 300", rate >= 300),
        Row("b", "turn latency p50 under load", percentile(totals, 50), "ms",
            percentile(base_totals, 50), label),
        Row("b", "turn latency p99 under load", percentile(totals, 99), "ms",
            percentile(base_totals, 99), label),
        # What the gateway alone costs: client and fake model share the cores in this run.
        Row("b", "gateway CPU per turn under load (mean)", 1000 * cpu / len(ours), "ms"),
        Row("b", "turns/s one core of gateway CPU sustains", len(ours) / cpu, "turns/s"),
        # The stack alone (bench/lib/bare_asgi.py, `floor_application`): Daphne and the same model
        # call, nothing of the gateway's own; its CPU is the part of ours no change of ours cuts.
        Row("b", "floor: Daphne + the model call alone, throughput", floor_rate, "turns/s"),
        Row("b", "floor: its CPU per turn", 1000 * floor_cpu, "ms"),
    ]  # fmt: skip
    details = {
        "sessions": sessions,
        "gateway_cpu_s": cpu,
        "turns_per_session": turns,
        "wall_s": wall,
        "baseline_wall_s": base_wall,
        "gateway": _summary(ours),
        "baseline_direct_sdk": _summary(base),
    }
    return Report(rows, details)
