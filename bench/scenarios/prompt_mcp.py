"""(d) with one MCP server attached: the fake MCP server of five tools (tests/fakes/mcp_server.py,
written with the official SDK, over stdio) used by the agent. The prompt for "hello" in tokens
(the MCP tool specs on their own too) against the same prompt without the server, measured in
the same run; the byte-identical prefix over 10 turns (system + tools, and the whole prompt);
and the first turn, which starts the server, against the turns after it.
"""

import asyncio
import itertools
import json
import statistics
import sys

from bench.lib.client import connect
from bench.lib.harness import JSON, ROOT, Context, Report, Row, at_most, manage, running_gateway
from bench.lib.tokens import count_tokens
from bench.scenarios import prompt

TURNS = 10
FAKE_MCP = ROOT / "tests" / "fakes" / "mcp_server.py"
SEED = (
    "from agents.mcp.models import MCPServer\n"
    "from agents.models import Agent\n"
    f"s = MCPServer.objects.create(name='tools', command={sys.executable!r},"
    f" args=[{str(FAKE_MCP)!r}, 'stdio'])\n"
    "s.agents.add(Agent.objects.get(slug='main'))\n"
)


def mcp_specs(body: JSON) -> str:
    specs = [t for t in body.get("tools") or [] if "__" in t["function"]["name"]]
    return json.dumps(specs, ensure_ascii=False, separators=(",", ":")) if specs else ""


async def _turns(ctx: Context, *, with_mcp: bool, turns: int) -> tuple[list[JSON], list[float]]:
    """The request bodies the fake received for `turns` turns on a fresh home, and each turn's
    wall time (ms) as the client saw it."""
    await ctx.fake.log()
    home = ctx.homes.fresh()
    if with_mcp:
        await asyncio.to_thread(manage, home, "shell", "-c", SEED)
    times: list[float] = []
    with running_gateway(home, ctx.fake) as gateway:
        async with connect(gateway) as client:
            for i in range(turns):
                text = "hello" if i == 0 else f"hello again ({i})"
                turn = await client.chat(text, "agent:main:main")
                times.append((turn.final_ns - turn.sent_ns) / 1e6)
            records = await ctx.fake.log()
    return [json.loads(r["body"]) | {"_tokens": r["prompt_tokens"]} for r in records], times


async def hello_prompt_mcp(ctx: Context) -> Report:
    await ctx.fake.configure(latency_ms=0, reply_words=0, usage="tokens", keep_bodies=True)
    try:
        plain, _ = await _turns(ctx, with_mcp=False, turns=1)
        bodies, times = await _turns(ctx, with_mcp=True, turns=TURNS)
    finally:
        await ctx.fake.configure(usage="chars", keep_bodies=False)
    first = bodies[0]
    tokens, baseline = float(first["_tokens"]), float(plain[0]["_tokens"])
    names = [t["function"]["name"] for t in first.get("tools") or []]
    mcp_names = [n for n in names if "__" in n]
    shares = [
        prompt.prefix_share(a, b)
        for a, b in itertools.pairwise(prompt.cacheable(b) for b in bodies)
    ]
    wholes = [prompt.whole_prompt(b) for b in bodies]
    whole_shares = [prompt.prefix_share(a, b) for a, b in itertools.pairwise(wholes)]
    later = statistics.median(times[1:])
    rows = [
        Row("d", 'MCP: prompt tokens for "hello", 1 server of 5 tools', tokens, "tokens",
            baseline, "no MCP server", "≤ 2,000", at_most(tokens, 2000)),
        Row("d", "  of which MCP tool specs", count_tokens(mcp_specs(first)), "tokens"),
        Row("d", "  MCP tools offered", float(len(mcp_names)), "tools"),
        Row("d", f"MCP: stable prefix over {TURNS} turns, min", min(shares), "%", None, "",
            "100", min(shares) >= 100.0),
        Row("d", f"MCP: whole prompt kept as the next turn's prefix over {TURNS} turns, min",
            min(whole_shares), "%", None, "", "100", min(whole_shares) >= 100.0),
        Row("d", "MCP: first turn (starts the server), wall", times[0], "ms", later,
            "later turns p50"),
    ]  # fmt: skip
    details = {
        "tokens_for_hello": tokens,
        "tokens_without_mcp": baseline,
        "mcp_tool_names": mcp_names,
        "mcp_tool_spec_tokens": count_tokens(mcp_specs(first)),
        "prefix_shares": shares,
        "whole_prompt_shares": whole_shares,
        "turn_ms": times,
    }
    return Report(rows, details)


async def hello_prompts(ctx: Context) -> Report:
    """Scenario (d): the plain prompt (`prompt.hello_prompt`), then with the MCP server."""
    plain = await prompt.hello_prompt(ctx)
    mcp = await hello_prompt_mcp(ctx)
    return Report(plain.rows + mcp.rows, {**plain.details, "mcp": mcp.details})
