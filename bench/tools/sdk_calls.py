"""CPU and wall time of one streamed model call through the gateway's `ChatModel`, per provider,
against bench/lib/fake_model.py (0 ms, in its own process), with the gateway's prompt shape: a
4 KB system prompt, 13 tool specs and a user message.

    .venv/bin/python bench/tools/sdk_calls.py [--calls 300] [--providers openai,anthropic]
        [--nagle] [--cprofile 25]

`--nagle` turns the fake's TCP_NODELAY off; `--cprofile N` prints the N most expensive functions
of the first provider's calls. Printed: mean per call, after 20 calls of warm-up.
"""

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")

import django  # noqa: E402

django.setup()

from agents.llm import Message, ModelSettings  # noqa: E402
from agents.llm_chat import ProviderChatModel  # noqa: E402
from bench.lib.harness import FakeModel  # noqa: E402

PROMPT: list[Message] = [
    {"role": "system", "content": "x" * 4000},
    {"role": "user", "content": "hello there"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": f"tool_{i}",
            "description": "d" * 200,
            "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }
    for i in range(13)
]


async def measure(
    call: ModelSettings, calls: int, profile: cProfile.Profile | None
) -> tuple[float, float]:
    model = ProviderChatModel()
    try:
        for _ in range(20):
            async for _event in model.stream(PROMPT, call, TOOLS):
                pass
        if profile is not None:
            profile.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            async for _event in model.stream(PROMPT, call, TOOLS):
                pass
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profile is not None:
            profile.disable()
    finally:
        await model.aclose()
    return 1000 * wall / calls, 1000 * cpu / calls


async def main_async(args: argparse.Namespace, fake: FakeModel) -> None:
    await fake.configure(nodelay=not args.nagle)
    for n, provider in enumerate(args.providers.split(",")):
        base = fake.base_url if provider != "anthropic" else fake.base_url.removesuffix("/v1")
        call = ModelSettings(f"{provider}/bench-model", base, "bench", "X_API_KEY", max_tokens=4096)
        profile = cProfile.Profile() if args.cprofile and n == 0 else None
        wall, cpu = await measure(call, args.calls, profile)
        print(f"{provider + '/':12} wall {wall:6.2f} ms  CPU {cpu:5.2f} ms  a call")
        if profile is not None:
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.cprofile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--providers", default="openai,anthropic")
    parser.add_argument("--nagle", action="store_true", help="the fake leaves TCP_NODELAY off")
    parser.add_argument("--cprofile", type=int, default=0)
    args = parser.parse_args()
    fake = FakeModel()
    try:
        asyncio.run(main_async(args, fake))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
