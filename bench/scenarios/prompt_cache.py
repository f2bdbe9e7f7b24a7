"""(d) Anthropic's prompt cache over a conversation: `TURNS` turns of one session through
`anthropic/` against the fake Messages API (tests/fakes/anthropic_server.py) billing the cache as
Anthropic does (tests/fakes/anthropic_cache.py: the longest cached prefix up to a breakpoint,
20 blocks of lookback, Sonnet's 1,024-token minimum). Reported: the input tokens billed as cache
reads (`cache_read_input_tokens` over all input tokens), as writes, and what the input costs
against no cache at Anthropic's multipliers (reads 0.1x, five-minute writes 1.25x). Baselines,
the same requests replayed in the same run through a fresh cache: with the stable prefix's
breakpoints only (tools + system, no breakpoint on the history), and with none.
"""

import asyncio
import copy
from typing import Any

from bench.lib.client import connect
from bench.lib.harness import JSON, Context, Report, Row, running_gateway
from bench.scenarios import prompt_mcp
from tests.fakes.anthropic_cache import PromptCache, blocks
from tests.fakes.anthropic_server import FakeAnthropic

TURNS = 10
MIN_TOKENS = 1024  # Claude Sonnet's and Opus's smallest cacheable prefix
READ_PRICE, WRITE_PRICE = 0.1, 1.25  # of the input price: a cache read, a five-minute write


def without_breakpoints(body: JSON, keep_prefix: bool) -> JSON:
    """`body` without its `cache_control` marks (but those of tools and system if
    `keep_prefix`)."""
    body = copy.deepcopy(body)

    def strip(blocks: Any) -> None:
        for block in blocks if isinstance(blocks, list) else ():
            if isinstance(block, dict):
                block.pop("cache_control", None)

    if not keep_prefix:
        strip(body.get("tools"))
        strip(body.get("system"))
    for message in body.get("messages") or ():
        strip(message.get("content"))
    return body


def shares(usages: list[JSON]) -> tuple[float, float, float]:
    """(% of input read from the cache, % written, input cost in % of the same without cache)."""
    read = sum(u["cache_read_input_tokens"] for u in usages)
    written = sum(u["cache_creation_input_tokens"] for u in usages)
    total = read + written + sum(u["input_tokens"] for u in usages)
    cost = (total - read - written) + READ_PRICE * read + WRITE_PRICE * written
    return 100.0 * read / total, 100.0 * written / total, 100.0 * cost / total


def replay(bodies: list[JSON], keep_prefix: bool) -> list[JSON]:
    cache = PromptCache(MIN_TOKENS)
    return [cache.usage(without_breakpoints(body, keep_prefix)) for body in bodies]


async def _conversation(ctx: Context, fake: FakeAnthropic, turns: int) -> None:
    home = ctx.homes.fresh()
    env = {
        "OPENCLAW_MODEL": "anthropic/claude-sonnet-4-5",
        "ANTHROPIC_BASE_URL": fake.url,
        "ANTHROPIC_API_KEY": "bench",
    }
    with running_gateway(home, ctx.fake, **env) as gateway:
        async with connect(gateway) as client:
            for i in range(turns):
                await client.chat("hello" if i == 0 else f"hello again ({i})", "agent:main:main")


async def anthropic_cache(ctx: Context) -> Report:
    turns = 5 if ctx.quick else TURNS
    with FakeAnthropic(cache="anthropic", min_cache_tokens=MIN_TOKENS) as fake:
        await _conversation(ctx, fake, turns)
        bodies = [request.body for request in fake.requests]
        billed = fake.billed
    read, written, cost = shares(billed)
    prefix_read, prefix_written, prefix_cost = shares(replay(bodies, keep_prefix=True))
    none_read, _, none_cost = shares(replay(bodies, keep_prefix=False))
    later_read, _, _ = shares(billed[1:])
    label = "breakpoints on tools + system only"
    rows = [
        Row("d", f"anthropic/: input billed as cache reads over {turns} turns", read, "%",
            prefix_read, label),
        Row("d", "  the same without the first turn (nothing cached yet)", later_read, "%",
            none_read, "no breakpoints"),
        Row("d", "  input billed as cache writes", written, "%", prefix_written, label),
        Row("d", "  input cost against no cache (reads 0.1x, writes 1.25x)", cost, "%",
            prefix_cost, label),
        Row("d", "  the same with no breakpoints", none_cost, "%"),
    ]  # fmt: skip
    details = {
        "turns": turns,
        "billed": billed,
        "prefix_only": replay(bodies, keep_prefix=True),
        "breakpoints_per_request": [sum(marked for _, marked in blocks(b)) for b in bodies],
    }
    return Report(rows, details)


async def hello_prompts_and_cache(ctx: Context) -> Report:
    """Scenario (d): the prompt for "hello" with and without an MCP server
    (`prompt_mcp.hello_prompts`), then Anthropic's prompt cache over a conversation."""
    plain = await prompt_mcp.hello_prompts(ctx)
    cache = await anthropic_cache(ctx)
    return Report(plain.rows + cache.rows, {**plain.details, "anthropic_cache": cache.details})


if __name__ == "__main__":  # the cache part alone: python -m bench.scenarios.prompt_cache
    from bench.lib.harness import FakeModel, Homes

    async def _main() -> None:
        fake, homes = FakeModel(), Homes()
        try:
            report = await anthropic_cache(Context(False, fake, homes))
            for row in report.rows:
                print(f"{row.metric:62} {row.value:7.1f} {row.unit}  ({row.baseline_label}: "
                      f"{row.baseline if row.baseline is not None else '-'})")  # fmt: skip
        finally:
            fake.stop()
            homes.cleanup()

    asyncio.run(_main())
