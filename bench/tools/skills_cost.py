"""What finding an agent's skills costs each model call on an unchanged tree (`agents.skills`:
`discover` then `offered_skills`, as `agents.turn_inputs` and the loop call them), against the
same-run baseline of reading the five cached bootstrap files (`read_bootstrap_files`), with 0
and 20 skills (10 in the workspace, 10 shared), and with 20 that each require a program and an
environment variable (PATH's folders are stat'ed too then).

Run: `.venv/bin/python bench/tools/skills_cost.py [--calls N]` (default 2,000 calls, best of 5).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import timeit
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `agents` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402  # after django.setup()

from agents import skills  # noqa: E402
from agents.workspace import create_workspace, read_bootstrap_files  # noqa: E402

CASES = (
    ("no skills", 0, ""),
    ("20 skills", 10, ""),
    ("20 skills needing a program and a variable", 10, "requires: {bins: [sh], env: [PATH]}\n"),
)


class ReadFile:
    name = "read_file"


def fill(root: Path, count: int, requires: str, prefix: str) -> None:
    """`count` skill folders in `root`, dated an hour back (past the cache's settling time)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    old = time.time() - 3600
    for i in range(count):
        name = f"{prefix}-{i:02d}"
        path = root / name / "SKILL.md"
        path.parent.mkdir()
        path.write_text(f"---\nname: {name}\ndescription: Does {i}.\n{requires}---\nBody\n")
        os.utime(path, (old, old))
        os.utime(path.parent, (old, old))
    os.utime(root, (old, old))


def best_us(call: object, calls: int) -> float:
    return min(timeit.repeat(call, number=calls, repeat=5)) / calls * 1e6  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    tmp = Path(tempfile.mkdtemp())
    try:
        settings.OPENCLAW_HOME = tmp / "home"
        workspace = tmp / "workspace"
        create_workspace(workspace, agent_name="Main")
        tools = [ReadFile()]
        print(f"{'case':<45} {'skills µs/call':>15} {'bootstrap files µs/call':>24}")
        for label, count, requires in CASES:
            fill(workspace / "skills", count, requires, "own")
            fill(tmp / "home" / "skills", count, requires, "shared")
            listed = skills.offered_skills(skills.discover(workspace), (), (), tools)
            assert len(listed) == 2 * count
            cost = best_us(
                lambda: skills.offered_skills(skills.discover(workspace), (), (), tools), calls
            )
            baseline = best_us(lambda: read_bootstrap_files(workspace), calls)
            print(f"{label:<45} {cost:>15.1f} {baseline:>24.1f}")
        skill_md = str(workspace / "skills" / "own-00" / "SKILL.md")
        one = best_us(lambda: os.lstat(skill_md), calls)
        print(f"one lstat of a SKILL.md, for scale: {one:.1f} µs")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
