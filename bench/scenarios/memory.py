"""(e) Memory search p50/p99 over one and ten years of generated daily logs, and the reindex
of one changed file, in-process (bench/scenarios/memory_search.py does the work). Baseline: a
naive linear scan of the same files held in memory.

It runs in a child process (`python -m bench.scenarios.memory --child DAYS…`) because
bench/scenarios/memory_search.py configures Django on import, in a temporary OPENCLAW_HOME.
"""

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys

from bench.lib.harness import ROOT, Context, Report, Row, at_most

YEARS = {"1 year": 365, "10 years": 3650}
LABELS = {365: "1y", 3650: "10y"}  # memory_search.measure adds its vector figures for "10y"


def child(days: list[int]) -> None:
    from django.core.management import call_command

    from bench.scenarios import memory_search  # configures Django in a temporary OPENCLAW_HOME

    try:
        call_command("migrate", verbosity=0)
        rng = random.Random(memory_search.SEED)
        out = {str(d): memory_search.measure(LABELS.get(d, f"{d}d"), d, rng) for d in days}
        print("RESULT " + json.dumps(out), flush=True)
    finally:
        shutil.rmtree(memory_search.HOME, ignore_errors=True)


async def memory_search(ctx: Context) -> Report:
    spans = {"4 months": 120} if ctx.quick else YEARS
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.scenarios.memory",
        "--child",
        *map(str, spans.values()),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await proc.communicate()
    line = next((x for x in out.decode().splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"memory bench failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    results: dict[str, dict[str, float]] = json.loads(line.removeprefix("RESULT "))
    rows = []
    label = "naive scan of the files in memory"
    for name, days in spans.items():
        r = results[str(days)]
        largest = days == max(spans.values())
        target = "≤ 10" if days == 3650 else ("≤ 10 on ten years" if largest else "")
        met = at_most(r["search_p50"], 10) if days == 3650 else None
        rows += [
            Row("e", f"search p50, {name} ({r['files']:,.0f} files)", r["search_p50"], "ms",
                r["baseline_p50"], label, target, met),
            Row("e", f"search p99, {name}", r["search_p99"], "ms", r["baseline_p99"], label),
            Row("e", f"search_memory p50 (with recent-file check), {name}",
                r["service_p50"], "ms", r["baseline_p50"], label),
        ]  # fmt: skip
        vector = r.get("vector_p50", float("nan"))
        if vector == vector:  # not NaN: the hybrid (embeddings) part was measured
            rows.append(Row("e", f"vector scan extra p50, {name}", vector, "ms"))
        if largest:
            rows.append(
                Row("e", f"reindex one changed file, median, {name}", r["one_file_ms"], "ms",
                    r["full_reindex_s"] * 1000, "full reindex", "≤ 50",
                    at_most(r["one_file_ms"], 50))
            )  # fmt: skip
    return Report(rows, {"spans": results})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+", type=int, required=True)
    child(parser.parse_args().child)
