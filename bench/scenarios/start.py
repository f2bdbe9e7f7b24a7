"""(f) Start until `/readyz` answers 200, and the idle RSS after that, of a real
`manage.py gateway` on a migrated home. Baseline: a bare Daphne serving a trivial app."""

import asyncio
import statistics

from bench.lib.harness import (
    BareDaphne,
    Context,
    Gateway,
    Report,
    Row,
    at_most,
    gateway_env,
    rss_mb,
)


async def start_until_ready(ctx: Context) -> Report:
    runs, idle_seconds = (2, 1.0) if ctx.quick else (5, 3.0)
    home = ctx.homes.fresh()
    ready: list[float] = []
    ready_cpu: list[float] = []
    rss: list[float] = []
    for _ in range(runs):
        gateway = Gateway(home, gateway_env(home, ctx.fake)).start()
        try:
            ready.append(gateway.ready_seconds)
            ready_cpu.append(gateway.ready_cpu_seconds)
            await asyncio.sleep(idle_seconds)
            rss.append(rss_mb(gateway.pid))
        finally:
            gateway.stop()
    base_ready: list[float] = []
    base_rss: list[float] = []
    for _ in range(runs):
        bare = BareDaphne().start()
        try:
            base_ready.append(bare.ready_seconds)
            await asyncio.sleep(idle_seconds)
            base_rss.append(rss_mb(bare.pid))
        finally:
            bare.stop()
    label = "bare Daphne, trivial ASGI app"
    start, idle = statistics.median(ready), statistics.median(rss)
    rows = [
        Row("f", "start until /readyz, median", start, "s", statistics.median(base_ready),
            label, "≤ 1.5 (OpenClaw 9 to 12, nanobot ~0.9)", at_most(start, 1.5)),
        # The wall time above grows with the machine's load; the CPU it took does much less.
        Row("f", "CPU time until /readyz, median", statistics.median(ready_cpu), "s"),
        Row("f", "idle RSS, median", idle, "MB", statistics.median(base_rss), label,
            "≤ 120 (OpenClaw ~1,074, nanobot ~132)", at_most(idle, 120)),
    ]  # fmt: skip
    details = {
        "runs": runs,
        "ready_s": ready,
        "ready_cpu_s": ready_cpu,
        "idle_rss_mb": rss,
        "baseline_ready_s": base_ready,
        "baseline_idle_rss_mb": base_rss,
    }
    return Report(rows, details)
