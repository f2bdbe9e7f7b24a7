"""(d) The prompt a fresh workspace sends for "hello": the system prompt and tool specs exactly
as the fake model received them, in tokens and bytes, and the number of tools; then how much of
the system + tools serialisation, and of the whole prompt (system + tools + history), stays a
byte-identical prefix of the next turn's over 10 turns (what provider prompt caches reuse), with
at least one pair of turns on either side of a minute boundary, and after a workspace file
changes. References: the figures of issue 8.
"""

import asyncio
import itertools
import json
import re
import time
from typing import Any

from bench.lib.client import connect
from bench.lib.harness import JSON, Context, Report, Row, at_most, running_gateway
from bench.lib.tokens import count_tokens

OPENCLAW_TOKENS, OPENCLAW_TOOLS = 14_300, 12
NANOBOT_TOKENS, NANOBOT_TOOLS = 7_800, 23
TURNS = 10
# agents.context.stamp: the time a user message was sent, in front of it (minute resolution)
STAMP = re.compile(r"\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{4}-\d\d-\d\d \d\d:\d\d) ")


def system_text(body: JSON) -> str:
    return "".join(m.get("content") or "" for m in body["messages"] if m["role"] == "system")


def tools_text(body: JSON) -> str:
    tools: list[Any] = body.get("tools") or []
    return json.dumps(tools, ensure_ascii=False, separators=(",", ":")) if tools else ""


def cacheable(body: JSON) -> str:
    """System prompt then tool specs: the order OpenAI-style providers render them in."""
    return system_text(body) + tools_text(body)


def whole_prompt(body: JSON) -> str:
    """System prompt, tool specs, then every other message as sent, in order."""
    rest = [m for m in body["messages"] if m["role"] != "system"]
    return cacheable(body) + "".join(
        json.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in rest
    )


def clock_of(body: JSON) -> str:
    """The minute stamped on the newest user message ("" when it has none)."""
    users = [m.get("content") or "" for m in body["messages"] if m["role"] == "user"]
    stamped = STAMP.match(users[-1]) if users else None
    return stamped.group(1) if stamped else ""


async def next_minute() -> None:
    """Wait until just after the next minute boundary (the stamps' resolution)."""
    await asyncio.sleep(60.2 - time.time() % 60)


def prefix_share(before: str, after: str) -> float:
    """How much of `before` (in %) `after` repeats byte for byte from the start."""
    n = min(len(before), len(after))
    common = next((i for i in range(n) if before[i] != after[i]), n)
    return 100.0 * common / max(len(before), 1)


async def hello_prompt(ctx: Context) -> Report:
    await ctx.fake.configure(latency_ms=0, reply_words=0, usage="tokens", keep_bodies=True)
    await ctx.fake.log()
    home = ctx.homes.fresh()
    with running_gateway(home, ctx.fake) as gateway:
        async with connect(gateway) as client:
            for i in range(TURNS):
                if i == TURNS // 2:  # so that one pair of turns surely crosses a minute
                    await next_minute()
                await client.chat("hello" if i == 0 else f"hello again ({i})", "agent:main:main")
            records = await ctx.fake.log()
            user_md = home / "workspaces" / "main" / "USER.md"
            with user_md.open("a", encoding="utf-8") as handle:
                handle.write("\n- Prefers short answers.\n")
            await client.chat("and now?", "agent:main:main")
            after_edit = (await ctx.fake.log())[-1]
    await ctx.fake.configure(usage="chars", keep_bodies=False)
    bodies = [json.loads(r["body"]) for r in records]
    first, hello = bodies[0], records[0]
    system, tools = system_text(first), tools_text(first)
    keys = [cacheable(b) for b in bodies]
    shares = [prefix_share(a, b) for a, b in itertools.pairwise(keys)]
    wholes = [whole_prompt(b) for b in bodies]
    whole_shares = [prefix_share(a, b) for a, b in itertools.pairwise(wholes)]
    edited = prefix_share(keys[-1], cacheable(json.loads(after_edit["body"])))
    # The stamps have minute resolution: pairs on either side of a minute boundary are the
    # ones a clock in the system prompt would have broken (it did until issue 8's fix).
    clocks = [clock_of(b) for b in bodies]
    crossed = [
        share
        for (a, b), share in zip(itertools.pairwise(clocks), whole_shares, strict=True)
        if a != b
    ]
    tokens = float(hello["prompt_tokens"])
    n_tools = float(len(first.get("tools") or []))
    size = len((system + tools).encode("utf-8"))
    rows = [
        Row("d", 'prompt tokens for "hello"', tokens, "tokens", OPENCLAW_TOKENS,
            "OpenClaw (issue 8)", "≤ 2,000", at_most(tokens, 2000)),
        Row("d", 'prompt tokens for "hello"', tokens, "tokens", NANOBOT_TOKENS,
            "nanobot 0.3.5 (issue 8)", "≤ 2,000", at_most(tokens, 2000)),
        Row("d", "  of which system prompt", count_tokens(system), "tokens"),
        Row("d", "  of which tool specs", count_tokens(tools), "tokens"),
        Row("d", "tools offered", n_tools, "tools", OPENCLAW_TOOLS, "OpenClaw (nanobot 23)"),
        Row("d", "system prompt + tool specs", size, "bytes"),
        Row("d", f"stable prefix over {TURNS} turns, min", min(shares), "%", None, "",
            "100", min(shares) >= 100.0),
        Row("d", f"whole prompt kept as the next turn's prefix over {TURNS} turns, min",
            min(whole_shares), "%", None, "", "100", min(whole_shares) >= 100.0),
        Row("d", "  the same, pairs across a minute boundary, min", min(crossed, default=0.0),
            "%", None, "", "100", bool(crossed) and min(crossed) >= 100.0),
        Row("d", f"turn pairs that crossed a minute (of {TURNS - 1})", len(crossed), "pairs"),
        Row("d", "stable prefix after USER.md changed", edited, "%", None, "",
            "< 100 (file changed)", edited < 100.0),
    ]  # fmt: skip
    details = {
        "tokens_for_hello": tokens,
        "system_prompt_tokens": count_tokens(system),
        "tool_spec_tokens": count_tokens(tools),
        "tool_names": [t["function"]["name"] for t in first.get("tools") or []],
        "system_prompt_bytes": len(system.encode("utf-8")),
        "tool_spec_bytes": len(tools.encode("utf-8")),
        "request_bytes": hello["request_bytes"],
        "prefix_shares": shares,
        "whole_prompt_shares": whole_shares,
        "clocks": clocks,
        "prefix_share_after_edit": edited,
        "system_prompt": system,
    }
    return Report(rows, details)
