"""Compaction: when history outgrows the budget, flush durable notes to today's log, then let
the model summarise the older turns into a `compaction` entry. Nothing is lost: the transcript
is append-only, so every original entry stays above the summary."""

import logging
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async

from agents.context import split_at_compaction, turn_blocks
from agents.failover import stream_with_failover
from agents.llm import ChatModel, Finished, ModelError, ModelSettings, TextDelta
from agents.transcripts import Entry, Usage, append_entries_async, make_entry
from memory import services as memory

logger = logging.getLogger(__name__)

FLUSH_PROMPT = (
    "The conversation below is about to be summarised and its details dropped from your "
    "context. Write the durable notes worth keeping in your daily log: facts about the user, "
    "decisions, open tasks, preferences. Markdown bullets, at most 15. If there is nothing "
    "worth keeping, answer exactly NOTHING."
)
SUMMARY_PROMPT = (
    "Summarise the conversation below for your own future reference: who wants what, what was "
    "decided and done, open questions, names, numbers and commitments. Be concise and "
    "specific; at most 300 words."
)


async def _complete(
    model: ChatModel, chain: Sequence[ModelSettings], system: str, body: str
) -> tuple[str, Usage | None]:
    """One silent (not streamed to the user) model call; returns its text and usage."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": body}]
    parts: list[str] = []
    usage: Usage | None = None
    async for event in stream_with_failover(model, messages, chain):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, Finished):
            usage = event.usage
    return "".join(parts).strip(), usage


def render(messages: Sequence[dict[str, Any]]) -> str:
    lines = []
    for message in messages:
        content = message.get("content") or ""
        if message["role"] == "tool":
            content = content[:500]
        calls = ", ".join(c["function"]["name"] for c in message.get("tool_calls") or ())
        lines.append(f"{message['role']}: {content}" + (f" [called {calls}]" if calls else ""))
    return "\n\n".join(lines)


async def compact(
    *,
    agent_slug: str,
    transcript: Path,
    entries: Sequence[Entry],
    keep_turns: int,
    model: ChatModel,
    chain: Sequence[ModelSettings],
    run_id: str,
    zone: tzinfo | None = None,
) -> bool:
    """Summarise all but the last `keep_turns` turns. Returns False when too little history
    remains to compact (the caller then trims instead). With the agent's `zone`, the user
    messages the summariser reads carry their times, so the summary can keep dates."""
    previous, recent = split_at_compaction(entries)
    blocks = turn_blocks(recent, zone)
    if len(blocks) <= keep_turns:
        return False
    old = [m for block in blocks[: len(blocks) - keep_turns] for m in block]
    text = render(old)
    await _flush_memory(agent_slug, model, chain, text, old)
    try:
        summary, _ = await _complete(
            model,
            chain,
            SUMMARY_PROMPT,
            (f"Earlier summary:\n{previous}\n\n" if previous else "") + text,
        )
    except ModelError as error:
        logger.warning("Compaction summary failed (%s); keeping a plain extract", error)
        summary = ""
    if not summary:
        summary = "\n".join(memory.compact_lines(old))[-8000:]
    entry = make_entry(
        "compaction",
        content=summary,
        run=run_id,
        meta={
            "summarised_messages": len(old),
            "kept_from": _first_kept(entries, recent, keep_turns),
        },
    )
    await append_entries_async(transcript, [entry])
    return True


def _first_kept(entries: Sequence[Entry], recent: Sequence[Entry], turns: int) -> int:
    """Transcript index of the first entry of the last `turns` turns."""
    starts = [
        e
        for e in recent
        if e["type"] == "context"
        or (
            e["type"] == "message"
            and e.get("role") == "user"
            and not e.get("meta", {}).get("skipped")
        )
    ]
    first = starts[-turns] if len(starts) >= turns else recent[0]
    return next(i for i, e in enumerate(entries) if e is first)


async def _flush_memory(
    agent_slug: str,
    model: ChatModel,
    chain: Sequence[ModelSettings],
    text: str,
    old: list[dict[str, Any]],
) -> None:
    """Durable notes go to today's log before the details are dropped; if the model cannot
    write them, the turns themselves go there in compact form."""
    try:
        notes, _ = await _complete(model, chain, FLUSH_PROMPT, text)
        await database_sync_to_async(memory.flush_notes)(agent_slug, notes)
    except ModelError as error:
        logger.warning("Memory flush call failed (%s); appending the turns instead", error)
        await database_sync_to_async(memory.compact_transcript_fallback)(agent_slug, old)
