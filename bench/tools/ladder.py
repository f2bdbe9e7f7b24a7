"""Where (b)'s CPU per turn goes, layer by layer: the same load (200 sockets x 10 messages at
once, 0 ms model) against the gateway's stack built up one layer at a time.

    .venv/bin/python bench/tools/ladder.py [--rounds 3] [--sessions 200] [--turns 10]

Rungs (`bench/tools/ladder_app.py` says what each adds): 0 the floor (Daphne and the model call,
`bare_asgi.floor_application`), 1 Django and a Channels consumer, 2 the final through the
channel layer, 3 the session and journal entry in the database thread, 4 two transcript
appends, then the gateway itself (`manage.py gateway`). Each round runs every rung once, in
order, so all see the host's fast and slow phases alike; printed: each rung's median CPU per
turn (the server process, all threads) and turns per second, and what it adds to the rung below.
`--inline`: rungs 3 and 4 do their work on the event loop (a measurement of the hops' share).
"""

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.lib.client import connect  # noqa: E402
from bench.lib.harness import (  # noqa: E402
    FLOOR_APP,
    BareDaphne,
    Context,
    FakeModel,
    Homes,
    gateway_env,
    running_gateway,
)
from bench.scenarios.turns import floor_env, load, sample_body  # noqa: E402

RUNGS = ("0 floor", "1 + Django, Channels consumer", "2 + channel layer", "3 + database hop",
         "4 + transcript appends", "gateway")  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    fake, homes = FakeModel(), Homes()
    ctx = Context(quick=False, fake=fake, homes=homes)
    figures: dict[str, list[tuple[float, float]]] = {rung: [] for rung in RUNGS}
    try:
        home = homes.fresh()
        with running_gateway(home, fake) as gateway:
            async with connect(gateway) as client:
                body = await sample_body(ctx, client.chat)
        for round_no in range(args.rounds):
            for rung, name in enumerate(RUNGS):
                prefix = f"agent:main:r{round_no}l{rung}-"
                if name == "gateway":
                    with running_gateway(homes.fresh(), fake) as gateway:
                        figure = await load(gateway, args.sessions, args.turns, prefix)
                else:
                    env = floor_env(ctx, body)
                    app = FLOOR_APP
                    if rung > 0:
                        env |= gateway_env(home, fake) | {"LADDER_RUNG": str(rung)}
                        env["LADDER_INLINE"] = "1" if args.inline else ""
                        env["DJANGO_SETTINGS_MODULE"] = "openclaw.settings"
                        app = "bench.tools.ladder_app:application"
                    server = BareDaphne(app=app, env=env).start()
                    try:
                        figure = await load(server, args.sessions, args.turns, prefix)
                    finally:
                        server.stop()
                await fake.log()  # keep the fake's log short
                figures[name].append(figure)
                print(f"round {round_no + 1} {name}: {1000 * figure[1]:.2f} ms", file=sys.stderr)
    finally:
        fake.stop()
        homes.cleanup()
    print(f"{args.sessions} sockets x {args.turns} turns, median of {args.rounds} rounds")
    print(f"{'rung':32} {'CPU ms/turn':>11} {'added':>7} {'turns/s':>8}")
    below = 0.0
    for name in RUNGS:
        cpu = 1000 * statistics.median(f[1] for f in figures[name])
        rate = statistics.median(f[0] for f in figures[name])
        added = f"{cpu - below:+.2f}" if name != RUNGS[0] else ""
        print(f"{name:32} {cpu:11.2f} {added:>7} {rate:8.0f}")
        below = cpu
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument(
        "--inline", action="store_true", help="rungs 3 and 4 without their thread hops"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
