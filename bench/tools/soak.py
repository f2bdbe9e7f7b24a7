"""Soak: a long run of turns through a real gateway against the fake model at 0 ms, watching
what must level off (RSS, open file descriptors, asyncio tasks) and what grows with the data
(database, transcripts).

Run: `.venv/bin/python bench/tools/soak.py [--turns N] [--sockets S] [--every K]` (default 100,000
turns, a figure every 10,000). Each socket sends its turns one after another; a session takes
20 turns, then the socket moves to a new one, so the run touches turns/20 sessions.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.lib.client import connect
from bench.lib.harness import (
    FakeModel,
    Gateway,
    Homes,
    raise_nofile,
    rss_mb,
    running_gateway,
)

TURNS_PER_SESSION = 20


@dataclass(frozen=True, slots=True)
class Sample:
    turns: int
    seconds: float
    rss_mb: float
    fds: int
    asyncio_tasks: int
    database_mb: float
    transcript_mb: float
    sessions: int
    errors: int


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def database_mb(home: Path) -> float:
    files = home.glob("openclaw.sqlite3*")  # the database, its WAL and shared memory
    return sum(f.stat().st_size for f in files) / 1e6


def transcripts(home: Path) -> tuple[float, int]:
    sizes = [f.stat().st_size for f in (home / "sessions").glob("*/*.jsonl")]
    return sum(sizes) / 1e6, len(sizes)


def asyncio_tasks(gateway: Gateway) -> int:
    """The gateway's own count of tasks on its loop, from /readyz."""
    with urllib.request.urlopen(gateway.url("/readyz"), timeout=10) as resp:  # noqa: S310
        return int(json.loads(resp.read())["asyncio_tasks"])


class Soak:
    def __init__(
        self, gateway: Gateway, fake: FakeModel, turns: int, sockets: int, every: int
    ) -> None:
        self.gateway, self.fake = gateway, fake
        self.turns, self.sockets, self.every = turns, sockets, every
        self.done = 0
        self.errors = 0
        self.started = time.monotonic()
        self.samples: list[Sample] = []

    def sample(self) -> Sample:
        pid, home = self.gateway.pid, self.gateway.home
        transcript, sessions = transcripts(home)
        sample = Sample(
            turns=self.done,
            seconds=round(time.monotonic() - self.started, 1),
            rss_mb=round(rss_mb(pid), 1),
            fds=open_fds(pid),
            asyncio_tasks=asyncio_tasks(self.gateway),
            database_mb=round(database_mb(home), 2),
            transcript_mb=round(transcript, 2),
            sessions=sessions,
            errors=self.errors,
        )
        self.samples.append(sample)
        return sample

    async def socket(self, number: int, turns: int) -> None:
        async with connect(self.gateway) as client:
            for i in range(turns):
                session = f"agent:main:soak-{number}-{i // TURNS_PER_SESSION}"
                try:
                    await client.chat(f"soak {number}.{i}", session)
                except RuntimeError as error:  # a refused or failed turn: count it, go on
                    self.errors += 1
                    if self.errors <= 5:
                        print(f"turn failed: {error}", file=sys.stderr)
                self.done += 1
                if self.done % self.every == 0:
                    await self.checkpoint()

    async def checkpoint(self) -> None:
        print_sample(await asyncio.to_thread(self.sample))
        if self.done % (self.every * 5) == 0:
            await self.fake.log()  # the fake keeps a record per request: empty it

    async def run(self) -> None:
        share, extra = divmod(self.turns, self.sockets)
        counts = [share + (1 if i < extra else 0) for i in range(self.sockets)]
        await asyncio.gather(*(self.socket(i, n) for i, n in enumerate(counts)))


HEADER = (
    f"{'turns':>8} {'s':>7} {'turns/s':>8} {'RSS MB':>7} {'fds':>5} {'tasks':>6} "
    f"{'db MB':>7} {'transcripts MB':>15} {'sessions':>9} {'errors':>7}"
)


def print_sample(s: Sample) -> None:
    rate = s.turns / s.seconds if s.seconds else 0.0
    print(
        f"{s.turns:>8,} {s.seconds:>7.0f} {rate:>8.0f} {s.rss_mb:>7.1f} {s.fds:>5} "
        f"{s.asyncio_tasks:>6} {s.database_mb:>7.2f} {s.transcript_mb:>15.2f} "
        f"{s.sessions:>9,} {s.errors:>7}",
        flush=True,
    )


def summary(samples: list[Sample], start: Sample) -> dict[str, float]:
    """Growth after warm-up: the last sample against the first (taken after `every` turns)."""
    warm, last = samples[0], samples[-1]
    return {
        "rss_start_mb": start.rss_mb,
        "rss_after_warmup_mb": warm.rss_mb,
        "rss_end_mb": last.rss_mb,
        "rss_growth_after_warmup_pct": round((last.rss_mb / warm.rss_mb - 1) * 100, 1),
        "fd_growth_after_warmup": last.fds - warm.fds,
        "task_growth_after_warmup": last.asyncio_tasks - warm.asyncio_tasks,
        "turns_per_second": round(last.turns / last.seconds, 1) if last.seconds else 0.0,
        "errors": last.errors,
    }


async def soak(turns: int, sockets: int, every: int) -> tuple[dict[str, float], list[Sample]]:
    raise_nofile()
    homes, fake = Homes(), FakeModel()
    try:
        await fake.configure(latency_ms=0, reply_words=0, usage="chars", keep_bodies=False)
        with running_gateway(homes.fresh(), fake) as gateway:
            run = Soak(gateway, fake, turns, sockets, every)
            print(f"soak: {turns:,} turns over {sockets} sockets, pid {gateway.pid}")
            print(HEADER)
            start = run.sample()
            print_sample(start)
            run.samples.clear()
            run.started = time.monotonic()
            await run.run()
            result = summary(run.samples, start)
    finally:
        fake.stop()
        homes.cleanup()
    print(
        f"RSS {result['rss_after_warmup_mb']:.1f} MB after warm-up ({every:,} turns) → "
        f"{result['rss_end_mb']:.1f} MB at the end: {result['rss_growth_after_warmup_pct']:+.1f} %"
        f" (target ≤ 10 %); fds {result['fd_growth_after_warmup']:+d}, asyncio tasks "
        f"{result['task_growth_after_warmup']:+d}; {result['turns_per_second']:.0f} turns/s; "
        f"{result['errors']:.0f} failed turns"
    )
    return result, run.samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--sockets", type=int, default=8)
    parser.add_argument("--every", type=int, default=0, help="turns between figures")
    parser.add_argument("--out", type=Path, default=None, help="write the samples as JSON")
    args = parser.parse_args()
    every = args.every or max(1, min(10_000, args.turns // 10))
    result, samples = asyncio.run(soak(args.turns, args.sockets, every))
    if args.out is not None:
        details = {"summary": result, "samples": [asdict(s) for s in samples]}
        args.out.write_text(json.dumps(details, indent=2))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
