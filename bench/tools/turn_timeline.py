"""Where a turn's wall time goes, in process: when each step starts (`>`) and ends (`<`),
as the median over the turns of its offset from the moment `chat.send` left the client.

    .venv/bin/python bench/tools/turn_timeline.py [--turns 400] [--pause-ms 0]

The gateway's ASGI application and consumer run in this process (as `profile_turn.py
--socket`: no Daphne, no network) against bench/lib/fake_model.py answering in 0 ms, with the
steps in `STEPS` wrapped to log their start and end. A step of the previous turn still running
when a message arrives shows in that message's timeline too (its usage bookkeeping `bk`, its
journal entries' `close`, the end of its job `job<`): what a message sent back to back waits
on. `--pause-ms` waits that long after each answer before the next message.
"""

import argparse
import asyncio
import functools
import importlib
import inspect
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.lib.harness import FakeModel  # noqa: E402
from bench.tools.profile_turn import gateway_socket, run_in_process  # noqa: E402

# (module, attribute or Class.method, label)
STEPS = [
    ("gateway.consumers", "GatewayConsumer.receive", "receive"),
    ("gateway.router", "_journal_and_admit", "journal"),
    ("agents.usage", "record_turn", "bk"),
    ("gateway.journal", "mark_records_delivered", "close"),
    ("gateway.runs", "accept_message", "accept"),
    ("gateway.runs", "ChatJob.run", "job"),
    ("agents.loop", "_Turn._read", "files"),
    ("agents.loop", "_Turn._messages", "prompt"),
    ("aiohttp.client", "ClientSession._request", "model"),
    ("agents.loop", "_Turn._finish", "finish"),
    ("gateway.consumers", "GatewayConsumer.gateway_event", "event"),
]

LOG: list[tuple[int, str]] = []


def _mark(label: str) -> None:
    LOG.append((time.monotonic_ns(), label))


def _wrapped(function: Callable[..., Any], label: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            _mark(label + ">")
            try:
                return await function(*args, **kwargs)
            finally:
                _mark(label + "<")

        return timed_async

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _mark(label + ">")
        try:
            return function(*args, **kwargs)
        finally:
            _mark(label + "<")

    return timed


def instrument() -> None:
    for module_name, path, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *classes, name = path.split(".")
        for cls in classes:
            owner = getattr(owner, cls)
        setattr(owner, name, _wrapped(getattr(owner, name), label))


async def run(args: argparse.Namespace, fake: FakeModel) -> None:
    from gateway import lifecycle

    instrument()
    await lifecycle.start(background=False)
    communicator = await gateway_socket()
    await fake.configure(latency_ms=0, reply_words=0)
    windows: list[tuple[int, int]] = []
    for i in range(40 + args.turns):  # the first 40 warm caches and connections
        if args.pause_ms:
            await asyncio.sleep(args.pause_ms / 1000)
        params = {"text": f"timeline {i}", "session": f"agent:main:timeline{i // 20}"}
        frame = {"type": "req", "id": f"r{i}", "method": "chat.send", "params": params}
        sent = time.monotonic_ns()
        _mark("send")
        await communicator.send_to(text_data=json.dumps(frame))
        run_id = None
        while True:
            reply = json.loads(await communicator.receive_from(timeout=30))
            if reply.get("type") == "res":
                run_id = reply["result"]["run"]
                _mark("res (client)")
            elif reply.get("event") == "chat.final" and reply["data"]["run"] == run_id:
                break
        _mark("chat.final (client)")
        if i >= 40:
            windows.append((sent, time.monotonic_ns()))
    await communicator.disconnect()
    await lifecycle.stop()
    offsets: dict[str, list[float]] = {}
    for start, end in windows:
        seen: dict[str, float] = {}
        for when, label in LOG:
            if start <= when <= end and label not in seen:
                seen[label] = (when - start) / 1e6
        for label, offset in seen.items():
            offsets.setdefault(label, []).append(offset)
    print(f"{args.turns} turns, {args.pause_ms} ms pause; median offset from chat.send (ms):")
    for label in sorted(offsets, key=lambda k: statistics.median(offsets[k])):
        share = len(offsets[label]) / len(windows)
        seen_in = "" if share > 0.99 else f"  (in {100 * share:.0f} % of turns)"
        print(f"  {statistics.median(offsets[label]):7.3f}  {label}{seen_in}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--pause-ms", type=float, default=0.0)
    run_in_process(run, parser.parse_args(), "openclaw-timeline-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
