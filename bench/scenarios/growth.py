"""(g) Prompt tokens per turn as one session grows to 200 turns, with ~80-word replies and an
8,000-token context window, as the fake model's usage reports them (o200k, tool specs
included, like a provider). Compaction must keep them bounded. Baseline: the same history
never compacted (first prompt plus every later user message and reply).
"""

from bench.lib.client import connect
from bench.lib.fake_model import Config, reply_text
from bench.lib.harness import Context, Report, Row, at_most, manage, running_gateway
from bench.lib.tokens import count_tokens

CONTEXT_WINDOW = 8_000
MAX_OUTPUT = 1_000  # an 8k model's output budget; the default 4,096 would leave little room
REPLY_WORDS = 80
SESSION = "agent:main:growth"
TUNE = (
    "from agents.models import Agent; Agent.objects.filter(slug='main')"
    f".update(context_window={CONTEXT_WINDOW}, max_output_tokens={MAX_OUTPUT})"
)


def message(i: int) -> str:
    return (
        f"Turn {i}: here is another detail about the garden project, the tomatoes on the "
        f"south wall and the watering schedule we keep changing; note it and answer briefly."
    )


async def session_growth(ctx: Context) -> Report:
    turns = 60 if ctx.quick else 200
    checkpoints = [k for k in (1, 10, 20, 50, 100, 200) if k <= turns]
    if turns not in checkpoints:
        checkpoints.append(turns)
    home = ctx.homes.fresh()
    manage(home, "shell", "-c", TUNE)
    await ctx.fake.configure(latency_ms=0, reply_words=REPLY_WORDS, usage="tokens")
    await ctx.fake.log()
    prompts: list[int] = []
    compactions = 0
    try:
        with running_gateway(home, ctx.fake) as gateway:
            async with connect(gateway) as client:
                for i in range(1, turns + 1):
                    await client.chat(message(i), SESSION)
                    records = await ctx.fake.log()
                    main = [r for r in records if r["marker"] == message(i)]
                    compactions += len(records) - len(main)
                    prompts.append(int(main[-1]["prompt_tokens"]))
    finally:
        await ctx.fake.configure(reply_words=0, usage="chars")
    reply = count_tokens(reply_text(Config(reply_words=REPLY_WORDS), {}))
    uncompacted = [prompts[0]]
    for i in range(2, turns + 1):
        uncompacted.append(uncompacted[-1] + reply + count_tokens(message(i)))
    rows = []
    for k in checkpoints:
        last = k == checkpoints[-1]
        peak = max(prompts[k // 2 :]) if last else 0
        rows.append(
            Row("g", f"prompt tokens at turn {k}", prompts[k - 1], "tokens", uncompacted[k - 1],
                "history never compacted", f"≤ {CONTEXT_WINDOW:,} (window)" if last else "",
                at_most(peak, CONTEXT_WINDOW) if last else None)
        )  # fmt: skip
    second_half = prompts[turns // 2 :]
    rows.append(Row("g", f"peak prompt, turns {turns // 2} to {turns}", max(second_half), "tokens"))
    rows.append(Row("g", "compaction model calls", compactions, "calls"))
    details = {
        "turns": turns,
        "context_window": CONTEXT_WINDOW,
        "max_output_tokens": MAX_OUTPUT,
        "prompt_tokens": prompts,
        "uncompacted_tokens": uncompacted,
        "compaction_calls": compactions,
    }
    return Report(rows, details)
