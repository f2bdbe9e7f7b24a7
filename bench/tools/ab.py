"""Compare two checkouts on the same scenarios, each with its own runner and its own code, run
alternately (A B B A ...) so both see the host's fast and slow phases alike (this VM's speed
drifts by up to 1.7x within minutes, so a single run of each says little).

    git worktree add ../baseline <commit>
    .venv/bin/python bench/tools/ab.py ../baseline . --only a,b,f --runs 3

Each side runs `<checkout>/<runner>` (default `bench/run.py`, which an older flat bench/ has
too) from the checkout's folder with PYTHONPATH=<checkout>: the venv is an editable install of
one checkout, whose finder answers for `gateway` & co. whenever the path does not, and Celery's
Django fix-up puts the working directory first on sys.path. Before the runs each side prints
where `gateway` and `bench` come from, and a side that would import another checkout's code
stops the comparison. Prints, per figure, the median of each side and of its ratio to the
baseline measured in the same run (the baseline drifts with the host too: the steadier
comparison).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# What a side's interpreter imports, printed from the same folder and environment as its runs.
WHERE = "import bench, gateway; print(gateway.__file__); print(bench.__file__)"
Series = tuple[list[float], list[float]]  # a figure's values and its ratios to the baseline


@dataclass(frozen=True)
class Side:
    """One checkout, the interpreter that runs it and its runner's path inside it."""

    name: str
    checkout: Path
    python: str
    runner: str

    @property
    def env(self) -> dict[str, str]:
        path = os.pathsep.join(filter(None, [str(self.checkout), os.environ.get("PYTHONPATH")]))
        # A bench before issue 17 took its ports from the first block tests/gateway_process.py
        # hands a test worker, which a test run on the same machine picks from too (a server
        # then fails to bind); the last block keeps either side clear of a test run.
        return os.environ | {"PYTHONPATH": path, "PYTEST_XDIST_WORKER": "gw15"}

    def check(self) -> list[str]:
        """Where this side's `gateway` and `bench` come from; raises when outside the checkout."""
        out = subprocess.run(
            [self.python, "-c", WHERE],
            cwd=self.checkout,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        stray = [f for f in out if not Path(f).resolve().is_relative_to(self.checkout)]
        if stray:
            raise SystemExit(f"{self.name}: imports code outside {self.checkout}: {stray}")
        return out

    def run(self, only: str, out: Path) -> list[dict[str, object]]:
        done = subprocess.run(
            [self.python, self.runner, "--only", only, "--out", str(out)],
            cwd=self.checkout,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode:  # a scenario failed (its rows are NaN), or the runner did
            print(f"{self.name}: {self.runner} exited {done.returncode}", file=sys.stderr)
            print(done.stderr[-3000:], file=sys.stderr)
            if not out.exists():
                raise SystemExit(1)
        rows: list[dict[str, object]] = json.loads(out.read_text())["rows"]
        return rows


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3g}" if values else "—"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value == value else None


def report(sides: dict[str, Side], runs: int, figures: dict[str, dict[str, Series]]) -> None:
    for side in sides.values():
        print(f"{side.name} = {side.checkout} ({side.runner})")
    print(f"{runs} runs each, medians")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("a", type=Path, help="checkout A (e.g. the older commit)")
    parser.add_argument("b", type=Path, help="checkout B")
    parser.add_argument("--only", default="b", help="scenarios, as for bench/run.py")
    parser.add_argument("--runs", type=int, default=6, help="runs of each checkout")
    for letter in ("a", "b"):
        parser.add_argument(
            f"--runner-{letter}", default="bench/run.py", help=f"runner inside checkout {letter}"
        )
        parser.add_argument(
            f"--python-{letter}", default=sys.executable, help=f"interpreter for checkout {letter}"
        )
    parser.add_argument("--out", type=Path, help="also write every run's rows here (JSON)")
    args = parser.parse_args(argv)
    sides = {
        "A": Side("A", args.a.resolve(), args.python_a, args.runner_a),
        "B": Side("B", args.b.resolve(), args.python_b, args.runner_b),
    }
    for side in sides.values():
        gateway, bench = side.check()
        print(f"{side.name}: gateway from {gateway}, bench from {bench}", file=sys.stderr)
    figures: dict[str, dict[str, Series]] = {}
    raw: dict[str, list[list[dict[str, object]]]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
                rows = sides[name].run(args.only, Path(tmp) / f"{name}{i}.json")
                raw[name].append(rows)
                for row in rows:
                    figure = f"{row['scenario']}  {row['metric']} ({row['unit']})"
                    values, ratios = figures.setdefault(figure, {}).setdefault(name, ([], []))
                    if (value := _number(row["value"])) is not None:
                        values.append(value)
                    if (ratio := _number(row.get("ratio"))) is not None:
                        ratios.append(ratio)
                print(f"run {i + 1}/{args.runs} {name} done", file=sys.stderr, flush=True)
    if args.out:
        args.out.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
    report(sides, args.runs, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
