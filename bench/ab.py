"""Compare two checkouts on the same scenarios, run alternately (A B B A ...) so that both see the
host's fast and slow phases alike (bench/README.md, "Notes": this VM's speed drifts by up to
1.7x within minutes, so a single run of each says little).

    git worktree add /tmp/old <commit>
    .venv/bin/python bench/ab.py /tmp/old . --only b --runs 6

Prints, per figure, the median of each side and of its ratio to the baseline measured in the
same run (the baseline, such as the openai SDK straight to the fake, drifts with the host too,
so the ratio is the steadier comparison).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run_once(checkout: Path, only: str, out: Path) -> list[dict[str, object]]:
    subprocess.run(
        [sys.executable, "bench/run.py", "--only", only, "--out", str(out)],
        cwd=checkout,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows: list[dict[str, object]] = json.loads(out.read_text())["rows"]
    return rows


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3g}" if values else "—"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="checkout A (e.g. the older commit)")
    parser.add_argument("b", type=Path, help="checkout B")
    parser.add_argument("--only", default="b", help="scenarios, as for bench/run.py")
    parser.add_argument("--runs", type=int, default=6, help="runs of each checkout")
    args = parser.parse_args(argv)
    sides = {"A": args.a.resolve(), "B": args.b.resolve()}
    # figure -> side -> (values, ratios)
    figures: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            order = ("A", "B") if i % 2 == 0 else ("B", "A")
            for side in order:
                rows = run_once(sides[side], args.only, Path(tmp) / f"{side}{i}.json")
                for row in rows:
                    name = f"{row['scenario']}  {row['metric']} ({row['unit']})"
                    values, ratios = figures.setdefault(name, {}).setdefault(side, ([], []))
                    if isinstance(row["value"], int | float):
                        values.append(float(row["value"]))
                    if isinstance(row.get("ratio"), int | float):
                        ratios.append(float(row["ratio"]))  # type: ignore[arg-type]
                print(f"run {i + 1}/{args.runs} {side} done", file=sys.stderr)
    print(f"A = {sides['A']}\nB = {sides['B']}\n{args.runs} runs each, medians")
    print(f"{'figure':58} {'A':>9} {'B':>9} {'B/A':>6}  {'A ratio':>8} {'B ratio':>8}")
    for name, by_side in figures.items():
        a_values, a_ratios = by_side.get("A", ([], []))
        b_values, b_ratios = by_side.get("B", ([], []))
        change = (
            f"{statistics.median(b_values) / statistics.median(a_values):.2f}"
            if a_values and b_values and statistics.median(a_values)
            else "—"
        )
        print(
            f"{name[:58]:58} {_median(a_values):>9} {_median(b_values):>9} {change:>6}  "
            f"{_median(a_ratios):>8} {_median(b_ratios):>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
