"""Summarise a py-spy collapsed-stack profile (`bench/run.py --profile FILE.txt`) as text.

    .venv/bin/python bench/tools/profile_summary.py /tmp/a.txt [--top 25] [--match agents/]
        [--callbacks] [--tree FUNCTION --depth 3]

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


def callbacks(stacks: list[tuple[list[str], int]]) -> list[str]:
    """The event loop's samples by what it was running: the module of the first frame under
    asyncio's `Handle._run` (a task of ours, Channels' consumer, Twisted's reading...)."""
    total = sum(count for _, count in stacks)
    by: Counter[str] = Counter()
    for frames, count in stacks:
        run = next((i for i, f in enumerate(frames) if f.endswith(":Handle._run")), None)
        name = "the loop itself (select, scheduling)"
        if run is not None and run + 1 < len(frames):
            name = frames[run + 1].rpartition(":")[0]
        by[name] += count
    return [f"  {100 * n / total:5.1f} %  {name}" for name, n in by.most_common()] if total else []


def tree(stacks: list[tuple[list[str], int]], root: str, depth: int) -> list[str]:
    """Callees of the first frame matching `root`, `depth` levels down, as % of all samples."""
    total = sum(count for _, count in stacks)
    paths: Counter[tuple[str, ...]] = Counter()
    for frames, count in stacks:
        start = next((i for i, f in enumerate(frames) if root in f), None)
        if start is None:
            continue
        for level in range(1, depth + 1):
            if start + level < len(frames):
                paths[tuple(frames[start : start + level + 1])] += count
    lines = []
    for path, count in sorted(paths.items(), key=lambda pc: (pc[0][:-1], -pc[1])):
        if total and 100 * count / total >= 1.0:
            lines.append(f"  {100 * count / total:5.1f} %  " + "  " * (len(path) - 2) + path[-1])
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", default="", help="only functions whose path contains this")
    parser.add_argument("--callbacks", action="store_true", help="the loop's samples by callback")
    parser.add_argument("--tree", default="", help="callees of this function (loop samples)")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--threads", action="store_true", help="--tree over worker threads")
    args = parser.parse_args(argv)
    kinds = parse(args.profile)
    if args.callbacks or args.tree:
        lines = callbacks(kinds["loop"]) if args.callbacks else []
        stacks = kinds["threads" if args.threads else "loop"]
        print("\n".join(lines + (tree(stacks, args.tree, args.depth) if args.tree else [])))
        return 0
    for kind, stacks in kinds.items():
        print(f"[{kind}]")
        print("\n".join(summarise(stacks, args.top, args.match)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
