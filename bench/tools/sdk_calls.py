"""CPU and wall time of one streamed model call through the gateway's `ChatModel`, per provider,
against bench/lib/fake_model.py (0 ms, in its own process), with the gateway's prompt shape: a
4 KB system prompt, 13 tool specs and a user message.

    .venv/bin/python bench/tools/sdk_calls.py [--calls 300] [--providers openai,anthropic]
        [--nagle] [--cprofile 25] [--variants --calls 1000]

`--nagle` turns the fake's TCP_NODELAY off; `--cprofile N` prints the N most expensive functions
of the first provider's calls. Printed: mean per call, after 20 calls of warm-up.

`--variants`: the openai/ call read three ways, interleaved call by call in random order so that
the host's load weighs on each alike (CPU of each call, trimmed mean and median): `ours` (the
gateway's `ChatModel`), `sdk-stream` (the same `client.post` read through the SDK's
`AsyncStream` and its SSE decoder, as before openclaw.perf.sse), and `httpx2` (the same bytes
sent with the SDK's HTTP client alone: what the SDK's request building costs on top).
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openclaw.settings")

import django  # noqa: E402

django.setup()

from agents.llm import Message, ModelSettings, TextDelta  # noqa: E402
from agents.llm_chat import ProviderChatModel  # noqa: E402
from agents.llm_openai import request_params  # noqa: E402
from agents.providers import check_configured, split  # noqa: E402
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


async def _sdk_stream(client: Any, call: ModelSettings) -> list[object]:
    """The gateway's call as it read the answer before openclaw.perf.sse: through the SDK's
    `AsyncStream` (its SSE decoder, an event object a line), the same events made of it."""
    import httpx2
    from openai import AsyncStream
    from openai.types.chat import ChatCompletion

    check_configured(call)
    provider, name = split(call.model)
    out: list[object] = []
    stream = await client.post(
        "/chat/completions",
        body=request_params(PROMPT, call, TOOLS, provider, name),
        cast_to=ChatCompletion,
        stream=True,
        stream_cls=AsyncStream[object],
        options={"timeout": httpx2.Timeout(call.timeout, read=call.idle_timeout), "headers": {}},
    )
    async with stream:
        async for chunk in stream:
            if not isinstance(chunk, dict):
                continue
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if content := delta.get("content"):
                    out.append(TextDelta(content))
    return out


async def _httpx2_alone(client: Any, call: ModelSettings, body: bytes) -> None:
    http = client._client  # the SDK's httpx2 client, on the gateway's transport
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
    url = f"{call.base_url}/chat/completions"
    async with http.stream("POST", url, content=body, headers=headers) as response:
        async for _chunk in response.aiter_raw():
            pass


async def variants(fake: FakeModel, calls: int) -> None:
    await fake.configure(nodelay=True)
    call = ModelSettings("openai/bench-model", fake.base_url, "bench", "X", max_tokens=4096)
    model = ProviderChatModel()
    provider, name = split(call.model)
    body = json.dumps(request_params(PROMPT, call, TOOLS, provider, name)).encode()
    try:
        client = await model._clients.openai("openai", call)

        async def ours() -> None:
            async for _event in model.stream(PROMPT, call, TOOLS):
                pass

        runs: dict[str, Callable[[], Awaitable[object]]] = {
            "ours": ours,
            "sdk-stream": lambda: _sdk_stream(client, call),
            "httpx2": lambda: _httpx2_alone(client, call, body),
        }
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(20):
            for run in runs.values():
                await run()
        for _ in range(calls):
            for label in random.sample(list(runs), len(runs)):
                started = time.process_time()
                await runs[label]()
                cpu[label].append(1000 * (time.process_time() - started))
    finally:
        await model.aclose()
    for label, spent in cpu.items():
        spent.sort()
        trimmed = spent[len(spent) // 10 : len(spent) - len(spent) // 10]
        print(
            f"{label:11} CPU a call: trimmed mean {statistics.fmean(trimmed):.3f} ms, "
            f"median {statistics.median(spent):.3f} ms ({calls} calls)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--providers", default="openai,anthropic")
    parser.add_argument("--nagle", action="store_true", help="the fake leaves TCP_NODELAY off")
    parser.add_argument("--cprofile", type=int, default=0)
    parser.add_argument("--variants", action="store_true", help="ours against the SDK's stream")
    args = parser.parse_args()
    fake = FakeModel()
    try:
        asyncio.run(variants(fake, args.calls) if args.variants else main_async(args, fake))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
