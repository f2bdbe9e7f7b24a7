"""Summarise a py-spy collapsed-stack profile (`bench/run.py --profile FILE.txt`) as text.

    .venv/bin/python bench/profile_summary.py /tmp/a.txt [--top 25] [--match agents/]

Prints, per thread kind (the event loop vs worker threads), the share of samples spent in each
function including its callees (inclusive) and in the function itself (self), so a profile can be
kept in the repository as a short text file (bench/profiles/) and compared before/after.
"""

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`func (path/to/file.py:12)` → `path/to/file.py:func` (lines dropped, so one function is
    counted once however many of its lines were sampled)."""
    found = FRAME.match(frame.strip())
    if found is None:
        return frame.strip()
    return f"{found['file']}:{found['func']}"


def parse(path: Path) -> dict[str, list[tuple[list[str], int]]]:
    """Stacks by thread kind: `loop` (the thread running Daphne's reactor) or `threads`."""
    kinds: dict[str, list[tuple[list[str], int]]] = {"loop": [], "threads": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";")]
        kind = "threads" if frames and "Thread._bootstrap" in frames[0] else "loop"
        kinds[kind].append((frames, int(count)))
    return kinds


def summarise(stacks: list[tuple[list[str], int]], top: int, match: str) -> list[str]:
    total = sum(count for _, count in stacks)
    if not total:
        return ["  (no samples)"]
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        for name in set(frames):
            inclusive[name] += count
        own[frames[-1]] += count
    lines = [f"  {total} samples"]
    lines.append("  inclusive %  self %  function")
    ranked = [n for n, _ in inclusive.most_common() if not match or match in n]
    for name in ranked[:top]:
        lines.append(
            f"  {100 * inclusive[name] / total:10.1f}  {100 * own[name] / total:6.1f}  {name}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only functions whose path contains this")
    args = parser.parse_args(argv)
    for kind, stacks in parse(args.profile).items():
        print(f"[{kind}]")
        print("\n".join(summarise(stacks, args.top, args.match)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
