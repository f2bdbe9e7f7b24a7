"""What storing an attachment costs: `agents.media.store.store_stream` (cap counted, sha256,
written in 1 MB pieces through the file thread, type detected, image header checked) against
the same bytes written to a file in the same pieces with nothing else (the baseline), on a
fresh temporary OPENCLAW_HOME.

    .venv/bin/python bench/tools/media_store.py [--mb 20] [--chunk-kb 64] [--rounds 5]

The stream arrives in `--chunk-kb` pieces, as an HTTP download does. Printed: the median wall
time of each side over the rounds, the throughput, and what the store adds.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _baseline(data: bytes, size: int, folder: Path) -> None:
    pending: list[bytes] = []
    with open(folder / "plain.bin", "wb") as handle:  # noqa: ASYNC230  # the bare baseline
        async for piece in _pieces(data, size):
            pending.append(piece)
            if sum(map(len, pending)) >= 1024 * 1024:
                await asyncio.to_thread(handle.write, b"".join(pending))
                pending = []
        if pending:
            await asyncio.to_thread(handle.write, b"".join(pending))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--chunk-kb", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-media-"))
    os.environ.update(
        OPENCLAW_HOME=str(home),
        DJANGO_SETTINGS_MODULE="openclaw.settings",
        OPENCLAW_ENV_FILE=os.devnull,
        OPENCLAW_MAX_ATTACHMENT_BYTES=str((args.mb + 1) * 1024 * 1024),
    )
    import django

    django.setup()
    from agents.media.store import store_stream

    size = args.mb * 1024 * 1024
    data = b"%PDF-1.4\n" + os.urandom(size - 9)  # typed by its header, like a real PDF
    chunk = args.chunk_kb * 1024

    async def store() -> None:
        await store_stream("bench", _pieces(data, chunk), name="big.pdf", claimed_mime="")

    async def run() -> tuple[list[float], list[float]]:
        stored, plain = [], []
        await store()  # warm-up: imports, the thread pool
        for _ in range(args.rounds):
            start = time.perf_counter()
            await store()
            stored.append(time.perf_counter() - start)
            start = time.perf_counter()
            await _baseline(data, chunk, home)
            plain.append(time.perf_counter() - start)
        return stored, plain

    stored, plain = asyncio.run(run())
    s, p = statistics.median(stored), statistics.median(plain)
    print(f"{args.mb} MB in {args.chunk_kb} KB pieces, median of {args.rounds} rounds")
    print(f"store_stream : {s * 1000:8.1f} ms  ({args.mb / s:7.1f} MB/s)")
    print(f"plain write  : {p * 1000:8.1f} ms  ({args.mb / p:7.1f} MB/s)  baseline")
    print(f"the store adds {(s - p) * 1000:.1f} ms ({s / p:.2f}x): sha256, detection, checks")


if __name__ == "__main__":
    main()
