"""Run the benchmark suite: `python bench/run.py [--quick] [--only a,d]`.

Prints one table (value, baseline measured in the same run, ratio, target) and writes the
figures to bench/results/latest.json. Each scenario is a module of bench/scenarios/,
described in bench/README.md.
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lib.harness import ROOT, Context, FakeModel, Homes, Report, Row, raise_nofile
from bench.lib.tokens import tokenizer_name
from bench.scenarios import growth, idle, memory, prompt_cache, recall, start, turns

RESULTS = ROOT / "bench" / "results" / "latest.json"
Scenario = Callable[[Context], Awaitable[Report]]
TITLES = {
    "a": "turn overhead, 0 ms model",
    "b": "throughput, concurrent sessions",
    "c": "idle WebSocket connections",
    "d": 'prompt for "hello", fresh workspace',
    "e": "memory search and reindex",
    "f": "start until ready, idle memory",
    "g": "prompt tokens as a session grows",
    "h": "memory recall on LoCoMo (recall@6, characters)",
}


def scenarios(profile: Path | None) -> dict[str, Scenario]:
    return {
        "a": lambda ctx: turns.turn_overhead(ctx, profile),
        "b": lambda ctx: turns.throughput(
            ctx, profile.with_stem(profile.stem + "-b") if profile else None
        ),
        "c": idle.idle_connections,
        # "hello" plain, then with one MCP server of five tools, then Anthropic's prompt cache
        "d": prompt_cache.hello_prompts_and_cache,
        "e": memory.memory_search,
        "f": start.start_until_ready,
        "g": growth.session_growth,
        "h": recall.recall,
    }


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value != value:  # NaN: the scenario failed
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def table(rows: list[Row]) -> str:
    head = ("", "metric", "value", "unit", "baseline", "ratio", "target", "status", "baseline is")
    lines = []
    for r in rows:
        status = {True: "met", False: "MISSED", None: ""}[r.met]
        ratio = f"x{r.ratio:.2f}" if r.ratio is not None else "—"
        cells = (r.scenario, r.metric, fmt(r.value), r.unit, fmt(r.baseline), ratio, r.target)
        lines.append((*cells, status, r.baseline_label))
    widths = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    right = {2, 4, 5}

    def render(cells: tuple[str, ...]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(head), rule, *(render(x) for x in lines)])


async def measure(
    ctx: Context, selected: list[str], profile: Path | None
) -> tuple[list[Row], dict[str, object], list[str]]:
    """Run the selected scenarios in order: their rows, raw details, and the keys that failed."""
    rows: list[Row] = []
    details: dict[str, object] = {}
    failed = []
    runners = scenarios(profile)
    for key in selected:
        print(f"[{key}] {TITLES[key]} …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            report = await runners[key](ctx)
        except Exception:
            failed.append(key)
            traceback.print_exc()
            rows.append(Row(key, f"{TITLES[key]}: FAILED (see stderr)", float("nan"), ""))
            continue
        rows += report.rows
        details[key] = report.details | {"seconds": time.monotonic() - t0}
    return rows, details, failed


async def main_async(args: argparse.Namespace) -> int:
    selected = [s.strip() for s in args.only.split(",")] if args.only else list(TITLES)
    unknown = [s for s in selected if s not in TITLES]
    if unknown:
        print(f"unknown scenario(s) {unknown}; choose from {','.join(TITLES)}", file=sys.stderr)
        return 2
    nofile = raise_nofile()
    started = time.monotonic()
    fake = FakeModel()
    try:
        homes = Homes()
        try:
            ctx = Context(quick=args.quick, fake=fake, homes=homes)
            rows, details, failed = await measure(ctx, selected, args.profile)
        finally:
            homes.cleanup()
    finally:
        fake.stop()
    mode = "quick" if args.quick else "full"
    print(f"\nopenclaw bench ({mode}; {os.cpu_count()} cores; tokens: {tokenizer_name()})\n")
    print(table(rows))
    out = {
        "mode": mode,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "nofile": nofile},
        "tokenizer": tokenizer_name(),
        "seconds": time.monotonic() - started,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
        "details": details,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\n{len(rows)} figures in {out['seconds']:.0f} s; JSON in {args.out}")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute")
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. a,d")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy profile of the gateway during (a) to this file, (b) to <name>-b<suffix>",
    )
    args = parser.parse_args()
    # Stopped from outside (`timeout`, bench/tools/ab.py interrupted): unwind, so the fake
    # model and the gateways started so far are stopped and the temporary homes removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
