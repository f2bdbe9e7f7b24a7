"""(d) The prompt a fresh workspace sends for "hello": the system prompt and tool specs exactly
as the fake model received them, in tokens and bytes, and the number of tools; then how much of
the system + tools serialisation stays a byte-identical prefix over 10 turns (what provider
prompt caches reuse), and after a workspace file changes. References: the figures of issue 8.
"""

import itertools
import json
from typing import Any

from bench.harness import JSON, Context, Report, Row, at_most, connect, running_gateway
from bench.tokens import count_tokens

OPENCLAW_TOKENS, OPENCLAW_TOOLS = 14_300, 12
NANOBOT_TOKENS, NANOBOT_TOOLS = 7_800, 23
TURNS = 10
TAIL_MARK = "\n\nNow: "  # agents.context.dynamic_tail: the only part meant to change per turn


def system_text(body: JSON) -> str:
    return "".join(m.get("content") or "" for m in body["messages"] if m["role"] == "system")


def tools_text(body: JSON) -> str:
    tools: list[Any] = body.get("tools") or []
    return json.dumps(tools, ensure_ascii=False, separators=(",", ":")) if tools else ""


def cacheable(body: JSON) -> str:
    """System prompt then tool specs: the order OpenAI-style providers render them in."""
    return system_text(body) + tools_text(body)


def clock_of(system: str) -> str:
    """The `Now: ...` value of the dynamic tail ("" when there is none)."""
    at = system.find(TAIL_MARK)
    return "" if at < 0 else system[at + len(TAIL_MARK) :].split(". ", 1)[0]


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
    edited = prefix_share(keys[-1], cacheable(json.loads(after_edit["body"])))
    tail_at = system.find(TAIL_MARK)
    clock_share = 100.0 * (tail_at if tail_at >= 0 else len(system)) / len(keys[0])
    # The tail's clock has minute resolution: a pair of turns on either side of a minute
    # boundary shares only the part before it, whatever the prompt assembly does.
    clocks = [clock_of(system_text(b)) for b in bodies]
    crossed = sum(1 for a, b in itertools.pairwise(clocks) if a != b)
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
        Row("d", "stable prefix after USER.md changed", edited, "%", None, "",
            "< 100 (file changed)", edited < 100.0),
        Row("d", "prefix left when the clock minute changes", clock_share, "%"),
        Row("d", f"turn pairs that crossed a clock minute (of {TURNS - 1})", crossed, "pairs"),
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
        "clocks": clocks,
        "prefix_share_after_edit": edited,
        "system_prompt": system,
    }
    return Report(rows, details)
