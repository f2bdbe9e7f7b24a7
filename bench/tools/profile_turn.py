"""Profile the gateway's turn path in one process: CPU per turn and where it goes.

    .venv/bin/python bench/tools/profile_turn.py [--turns 300] [--pyinstrument FILE.txt]
        [--cprofile N] [--cprofile-out FILE.prof]

The same code a `chat.send` runs once the frame is parsed: `router.route` (the session, the
journal entry, the rate limit, the lane), then `run_turn` with the session's tools and the real
`OpenAIChatModel` against bench/lib/fake_model.py (0 ms), its events through the gateway's channel
layer to a subscribed channel, on a freshly migrated OPENCLAW_HOME. What is left out is Daphne,
the consumer and the WebSocket, so the figure is the agent side of scenario (a). CPU time
(`time.process_time`, all threads) is reported next to wall time because it is what a loaded
machine does not distort; the DB queries per turn are counted too.
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.lib.harness import MODEL, FakeModel, gateway_env  # noqa: E402
from tests.gateway_process import TOKEN, migrate  # noqa: E402


def setup(home: Path, fake: FakeModel) -> None:
    migrate(home)
    os.environ.update(gateway_env(home, fake))
    import django

    django.setup()


def run_in_process(
    run: Callable[[argparse.Namespace, FakeModel], Coroutine[Any, Any, None]],
    args: argparse.Namespace,
    prefix: str,
) -> None:
    """`run(args, fake)` on one event loop, against a fresh fake model and a freshly migrated
    OPENCLAW_HOME (removed after)."""
    fake = FakeModel()
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            setup(Path(tmp), fake)
            asyncio.run(run(args, fake))
    finally:
        fake.stop()


async def gateway_socket() -> Any:
    """A connected socket to the gateway's real ASGI application and consumer (a
    `WebsocketCommunicator`: frames in and out as Daphne would pass them)."""
    from channels.testing import WebsocketCommunicator

    from openclaw.asgi import build_application

    communicator = WebsocketCommunicator(build_application(), f"/ws/gateway/?token={TOKEN}")
    connected, _ = await communicator.connect()
    assert connected, "the gateway refused the bench socket"
    return communicator


Turns = Callable[[int, int, str], Awaitable[None]]


async def journal_turns(n: int, sessions: int, prefix: str) -> None:
    """`n` turns as `chat.send` runs them (`router.route`: session, journal entry, lane,
    `run_turn`), each awaited to its `chat.final` on a channel subscribed to the session."""
    from channels.layers import get_channel_layer

    from gateway import events, router

    layer = get_channel_layer()
    assert layer is not None  # the gateway's settings configure one
    channel = await layer.new_channel()

    async def subscribe(session_key: str) -> None:
        await layer.group_add(events.session_group(session_key), channel)

    scope: dict[str, Any] = {}  # one socket's: the rate limit keeps who it is there
    for i in range(n):
        message = router.WebMessage(
            f"agent:main:{prefix}{i % sessions}", f"hi {i}", uuid.uuid4().hex, "bench", scope
        )
        accepted = await router.route(message, on_session=subscribe)
        while True:
            message = await layer.receive(channel)
            if message["event"] == "chat.final" and message["data"]["run"] == accepted.run:
                break


def socket_turns(communicator: Any, stamps: dict[str, tuple[int, int]] | None = None) -> Turns:
    """Turns through the gateway's real ASGI application and consumer (`--socket`): frames in
    and out as Daphne would pass them, without Daphne and the network. With `stamps`, each
    message's send and `chat.final` times (monotonic ns) are kept under its text."""

    async def turns(n: int, sessions: int, prefix: str) -> None:
        for i in range(n):
            text = f"{prefix} {i}"
            params = {"text": text, "session": f"agent:main:{prefix}{i % sessions}"}
            sent = time.monotonic_ns()
            await communicator.send_to(
                text_data=json.dumps({"type": "req", "id": f"r{i}", "method": "chat.send",
                                      "params": params})
            )  # fmt: skip
            run = None
            while True:
                frame = json.loads(await communicator.receive_from(timeout=30))
                if frame.get("type") == "res":
                    run = frame["result"]["run"]
                elif frame.get("event") == "chat.final" and frame["data"]["run"] == run:
                    break
            if stamps is not None:
                stamps[text] = (sent, time.monotonic_ns())

    return turns


async def socket_split(communicator: Any, fake: FakeModel, n: int) -> None:
    """Scenario (a)'s split, in process: overhead, inbound → model request and model end →
    `chat.final`, as medians over `n` turns (the fake's log joined by message text)."""
    stamps: dict[str, tuple[int, int]] = {}
    await fake.log()  # clear
    await socket_turns(communicator, stamps)(n, max(n // 20, 1), "split")
    records = {r["marker"]: r for r in await fake.log()}
    parts: dict[str, list[float]] = {"overhead": [], "inbound": [], "outbound": []}
    for text, (sent, final) in stamps.items():
        start, end = records[text]["start_ns"], records[text]["end_ns"]
        parts["overhead"].append((final - sent - (end - start)) / 1e6)
        parts["inbound"].append((start - sent) / 1e6)
        parts["outbound"].append((final - end) / 1e6)
    medians = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in parts.items())
    print(f"p50 over {n} turns (ms): {medians}")


turns: Turns = journal_turns


async def count_hops(n: int) -> float:
    """Calls handed to a worker thread per turn (`asyncio.to_thread`, `database_sync_to_async`):
    each costs a context switch and a GIL hand-over under load."""
    from concurrent.futures import ThreadPoolExecutor

    calls = 0
    submit = ThreadPoolExecutor.submit

    def counting(self: ThreadPoolExecutor, *args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return submit(self, *args, **kwargs)  # type: ignore[arg-type]

    ThreadPoolExecutor.submit = counting  # type: ignore[assignment,method-assign]
    try:
        await turns(n, 1, "h")
    finally:
        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]
    return calls / n


async def count_queries(n: int) -> float:
    """Queries per turn, counted on the connection of the thread every ORM call runs in
    (`database_sync_to_async` is thread-sensitive: one thread, one connection)."""
    from channels.db import database_sync_to_async
    from django.db import connection

    def debug(on: bool) -> int:  # runs in the ORM's thread
        connection.force_debug_cursor = on
        count = len(connection.queries)
        if not on and os.environ.get("PROFILE_SHOW_SQL"):
            print("\n".join(q["sql"][:200] for q in connection.queries[-12:]))
        connection.queries_log.clear()
        return count

    await database_sync_to_async(debug)(True)
    await turns(n, 1, "q")
    queries: int = await database_sync_to_async(debug)(False)
    return queries / n


async def run(args: argparse.Namespace, fake: FakeModel) -> None:
    # One event loop throughout: the model client's connection pool belongs to its loop.
    global turns
    from gateway import lifecycle

    await lifecycle.start(background=False)
    communicator = None
    if args.socket:
        communicator = await gateway_socket()
        turns = socket_turns(communicator)
    await fake.configure(latency_ms=0, reply_words=0)
    await turns(30, args.sessions, "warm")  # first turns, caches, connections
    print(f"model {MODEL}; {args.turns} turns over {args.sessions} sessions")
    print(f"DB queries per later turn: {await count_queries(20):.1f}")
    print(f"thread hops per later turn: {await count_hops(20):.1f}")
    c0, w0 = time.process_time(), time.perf_counter()
    await turns(args.turns, args.sessions, "t")
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"CPU per turn {1000 * cpu / args.turns:.2f} ms, wall {1000 * wall / args.turns:.2f} ms")
    if communicator is not None:
        await socket_split(communicator, fake, args.turns)
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        await turns(args.turns, args.sessions, "p")
        profiler.stop()
        args.pyinstrument.write_text(profiler.output_text(unicode=False, show_all=False))
        print(f"pyinstrument profile in {args.pyinstrument}")
    if args.cprofile:
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        await turns(args.turns, args.sessions, "c")
        prof.disable()
        if args.cprofile_out:
            prof.dump_stats(args.cprofile_out)
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.cprofile)
    if communicator is not None:
        await communicator.disconnect()
    await lifecycle.stop()  # lets the last run finish its bookkeeping


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=15, help="sessions the turns rotate over")
    parser.add_argument(
        "--socket", action="store_true", help="through the ASGI application and its consumer"
    )
    parser.add_argument("--pyinstrument", type=Path, help="write a pyinstrument text profile")
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N by own time")
    parser.add_argument("--cprofile-out", type=Path, help="also save the cProfile stats here")
    run_in_process(run, parser.parse_args(), "openclaw-profile-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
