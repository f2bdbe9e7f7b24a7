"""Memory operations, one named synchronous function each (tools, admin, commands and the loop
call these; async callers go through `database_sync_to_async`). The `memory.sync` names callers
need (MemoryConflict, WriteResult, SyncReport, sync_agent, sync_all) are re-exported here."""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from agents.models import Agent
from agents.services import NotFound
from memory import files, fts, notes
from memory.index import Document, index_document
from memory.markdown import split_lines
from memory.models import DailyLog, MemoryNote, MemoryRevision, WorkingMemory
from memory.search import SearchResult, search
from memory.sync import (
    BATCH,
    agent_now,
    agent_today,
    doc_hash,
    resolve_agent,
    sync_document,
    sync_if_listing_changed,
    synced_document,
    write_document,
)
from memory.sync import MemoryConflict as MemoryConflict
from memory.sync import SyncReport as SyncReport
from memory.sync import WriteResult as WriteResult
from memory.sync import sync_agent as sync_agent
from memory.sync import sync_all as sync_all

APPEND_MAX_CHARS = 8_000
NOTHING_TO_SAVE = "NOTHING"  # what the flush prompt (agents.compaction) asks for when idle


class MemoryRefused(ValueError):
    """A memory change refused for a reason the caller can fix; the message says how."""


@dataclass(frozen=True, slots=True)
class MemoryFile:
    path: str
    content: str
    content_hash: str  # pass back as `base_hash` when writing
    missing: bool
    updated_by: str
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FileSlice:
    path: str
    from_line: int
    to_line: int
    total_lines: int
    text: str


def _file(doc: Document) -> MemoryFile:
    content = "" if doc.missing else doc.content  # what is on disk; the row keeps the last text
    return MemoryFile(doc.path, content, doc_hash(doc), doc.missing, doc.updated_by, doc.updated_at)


def read_working_memory(agent: Agent | str) -> MemoryFile:
    """MEMORY.md as it is on disk now (a change made there is picked up first)."""
    agent = resolve_agent(agent)
    doc = synced_document(agent, None)
    if doc is None:  # syncing always leaves a row for MEMORY.md
        raise NotFound(f"No working memory for agent {agent.slug!r}.")
    return _file(doc)


def _check_cap(old: str, new: str, cap: int | None) -> str:
    # Shrinking is always allowed, so an oversized file (written in the admin) can be curated.
    if cap is not None and len(new) > cap and len(new) > len(old):
        raise MemoryRefused(
            f"Refused: MEMORY.md would be {len(new):,} characters and the limit is {cap:,}, "
            "because it is sent with every prompt. Curate it first: remove outdated or "
            "duplicate lines, shorten entries, move details to the daily log (memory_append); "
            "then try again."
        )
    return new


def write_working_memory(
    agent: Agent | str, content: str, base_hash: str | None, actor: str, *, cap: int | None = None
) -> WriteResult:
    """Replace MEMORY.md. `base_hash` is the `content_hash` the new text was based on
    (None: unconditional). Raises MemoryConflict, or MemoryRefused past `cap` characters."""
    return write_document(
        agent, None, lambda old: _check_cap(old, content, cap), base_hash=base_hash, actor=actor
    )


def edit_working_memory(
    agent: Agent | str, old_text: str, new_text: str, actor: str, *, cap: int | None = None
) -> WriteResult:
    """Replace the one occurrence of `old_text` in MEMORY.md, under the write lock (so a
    concurrent write cannot be lost). MemoryRefused if it occurs zero or several times."""

    def change(old: str) -> str:
        count = old.count(old_text) if old_text else 0
        if count != 1:
            raise MemoryRefused(
                "old_text is empty."
                if not old_text
                else "old_text was not found in MEMORY.md: copy it exactly (memory_get MEMORY.md)."
                if count == 0
                else f"old_text occurs {count} times in MEMORY.md: include more of the "
                "surrounding text so it is unique."
            )
        return _check_cap(old, old.replace(old_text, new_text, 1), cap)

    return write_document(agent, None, change, base_hash=None, actor=actor)


def write_daily_log(
    agent: Agent | str, date: dt.date, content: str, base_hash: str | None, actor: str
) -> WriteResult:
    """Replace one day's log (the admin editor). Raises MemoryConflict."""
    return write_document(agent, date, lambda _old: content, base_hash=base_hash, actor=actor)


def _entry_appender(date: dt.date, heading: str, body: str) -> Callable[[str], str]:
    def change(old: str) -> str:
        start = old if old.strip() else f"# {date:%Y-%m-%d}\n"
        return f"{start.rstrip()}\n\n## {heading}\n\n{body.strip()}\n"

    return change


def _local(agent: Agent, when: dt.datetime | None) -> dt.datetime:
    now = agent_now(agent)
    return now if when is None else when.astimezone(now.tzinfo)


def append_daily_log(
    agent: Agent | str,
    text: str,
    when: dt.datetime | None = None,
    actor: str = "agent",
    *,
    title: str = "",
    limit: int | None = APPEND_MAX_CHARS,
) -> WriteResult:
    """Append a timestamped entry (`## HH:MM — title`) to the log of `when`'s day (default:
    now) in the agent's time zone; the file is created with a `# YYYY-MM-DD` title.
    MemoryRefused for empty text or text past `limit` characters (None: no limit)."""
    agent = resolve_agent(agent)
    if not text.strip():
        raise MemoryRefused("Nothing to append: the text is empty.")
    if limit is not None and len(text) > limit:
        raise MemoryRefused(
            f"The entry is {len(text):,} characters; the limit is {limit:,}. "
            "Keep notes short, or append them in parts."
        )
    local = _local(agent, when)
    heading = f"{local:%H:%M}" + (f" — {title}" if title else "")
    change = _entry_appender(local.date(), heading, text)
    return write_document(agent, local.date(), change, base_hash=None, actor=actor)


def get_memory_file(
    agent: Agent | str, relpath: str, from_line: int | None = None, lines: int | None = None
) -> FileSlice:
    """Lines of `MEMORY.md` or `memory/<name>.md` of this agent (1-based `from_line`).
    Raises files.UnsafePath for any other path and NotFound for a file that does not exist."""
    agent = resolve_agent(agent)
    name = files.parse_note_relpath(relpath)
    doc: Document | None
    if name is not None:
        doc = notes.synced_note(agent, name)
    else:
        doc = synced_document(agent, files.parse_relpath(relpath))
    if doc is None or doc.missing:
        raise NotFound(f"{relpath} does not exist.")
    all_lines = split_lines(doc.content)
    start = max(1, from_line or 1)
    count = len(all_lines) if lines is None else max(0, lines)
    chosen = all_lines[start - 1 : start - 1 + count]
    return FileSlice(doc.path, start, start + len(chosen) - 1, len(all_lines), "\n".join(chosen))


def restore_revision(revision_id: int, base_hash: str | None, actor: str) -> WriteResult:
    """Write an old version back (itself kept as a revision of what it replaces)."""
    revision = MemoryRevision.objects.select_related("agent").get(pk=revision_id)
    date = files.parse_relpath(revision.path)
    content = revision.content
    return write_document(
        revision.agent, date, lambda _old: content, base_hash=base_hash, actor=actor
    )


def search_memory(
    agent: Agent | str, query: str, max_results: int = 6, query_vector: list[float] | None = None
) -> SearchResult:
    """`search` after picking up disk changes: every file when memory/'s listing changed (a
    file created, deleted or renamed), else the files most likely to be edited in place
    (MEMORY.md, today's and yesterday's logs); the gateway's watcher covers the rest."""
    agent = resolve_agent(agent)
    today = agent_today(agent)
    if not sync_if_listing_changed(agent):
        for date in (None, today, today - dt.timedelta(days=1)):
            sync_document(agent, date)
    return search(agent, query, max_results, query_vector=query_vector, today=today)


def reindex(agent: Agent | str | None = None, progress: Callable[[str], None] | None = None) -> int:
    """Sync from disk, then rebuild every chunk (of one agent, or all); returns the chunk count.
    `progress` is called with each document's path as it is done."""
    agents = [resolve_agent(agent)] if agent is not None else list(Agent.objects.all())
    if agent is None:
        fts.rebuild()  # also repairs a missing FTS table or trigger
    total = 0
    for each in agents:
        sync_agent(each)
        docs: list[Document] = [*WorkingMemory.objects.filter(agent=each)]
        docs += DailyLog.objects.filter(agent=each).order_by("date")
        docs += MemoryNote.objects.filter(agent=each).order_by("name")
        for start in range(0, len(docs), BATCH):
            with transaction.atomic():
                for doc in docs[start : start + BATCH]:
                    total += index_document(doc)
                    if progress is not None:
                        progress(f"{each.slug}/{doc.path}")
    return total


def count_documents(agent: Agent | str | None = None) -> int:
    """How many files `reindex` will go through (for a progress bar)."""
    qs_w, qs_d, qs_n = WorkingMemory.objects.all(), DailyLog.objects.all(), MemoryNote.objects.all()
    if agent is not None:
        owner = resolve_agent(agent)
        qs_w, qs_d, qs_n = (
            qs_w.filter(agent=owner),
            qs_d.filter(agent=owner),
            qs_n.filter(agent=owner),
        )
    return qs_w.count() + qs_d.count() + qs_n.count()


def flush_notes(agent_slug: str, notes_text: str, when: dt.datetime | None = None) -> bool:
    """Append the notes the model wrote before compaction to today's log. False when there was
    nothing to save (an empty answer or NOTHING)."""
    notes = notes_text.strip()
    if not notes or notes.strip(" .`*").upper() == NOTHING_TO_SAVE:
        return False
    # No size limit: these notes are all that survives of the turns being compacted.
    append_daily_log(agent_slug, notes, when, "flush", title="notes before compaction", limit=None)
    return True


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compact_lines(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Markdown bullets for turns: user text kept whole, the rest shortened, system skipped."""
    out: list[str] = []
    for message in messages:
        role = str(message.get("role") or message.get("type") or "")
        text = _text_of(message.get("content"))
        if role == "user":
            body = "\n  ".join(split_lines(text.strip())) or "(empty)"
            out.append(f"- **user:** {body}")
        elif role in ("assistant", "tool_call"):
            calls = [
                str((c.get("function") or {}).get("name") or c.get("name") or "?")
                for c in message.get("tool_calls") or ()
                if isinstance(c, Mapping)
            ]
            said = _short(text, 400) if text.strip() else ""
            used = f" (called {', '.join(calls)})" if calls else ""
            if said or used:
                out.append(f"- **assistant:** {said}{used}".rstrip())
        elif role in ("tool", "tool_result"):
            name = message.get("name") or message.get("tool") or "tool"
            out.append(f"- **{name} result:** {_short(text, 160)}")
    return out


def compact_transcript_fallback(
    agent_slug: str, messages: Sequence[Mapping[str, Any]], when: dt.datetime | None = None
) -> bool:
    """When the flush call failed: append the turns about to be summarised, compactly, to
    today's log, so nothing the user said is lost. Accepts chat messages (`role`) and
    transcript entries (`type`). False if there was nothing to keep."""
    lines = compact_lines(messages)
    if not lines:
        return False
    agent = resolve_agent(agent_slug)
    local = _local(agent, when)
    # Split past the per-entry size, never inside a line: the user's words stay whole.
    parts = [""]
    for line in lines:
        if parts[-1] and len(parts[-1]) + len(line) > APPEND_MAX_CHARS:
            parts.append("")
        parts[-1] += line + "\n"
    appenders = [
        _entry_appender(
            local.date(),
            f"{local:%H:%M} — conversation before compaction"
            + (f" ({n}/{len(parts)})" if len(parts) > 1 else ""),
            part,
        )
        for n, part in enumerate(parts, 1)
    ]

    def change(old: str) -> str:
        for append in appenders:
            old = append(old)
        return old

    write_document(agent, local.date(), change, base_hash=None, actor="flush-fallback")
    return True


def _tail(text: str, budget: int, path: str) -> str:
    """The end of `text` in whole lines within `budget` chars, with a notice when cut."""
    if len(text) <= budget:
        return text
    notice = f"[… earlier lines omitted; memory_get {path} reads them]\n"
    kept: list[str] = []
    size = len(notice)
    for line in reversed(split_lines(text)):
        if size + len(line) + 1 > budget:
            break
        kept.insert(0, line)
        size += len(line) + 1
    return notice + "\n".join(kept) if kept else ""


def session_start_context(agent_slug: str, cap_chars: int, today: dt.date | None = None) -> str:
    """Yesterday's and today's logs for a new session, within `cap_chars` in total: today's
    first, then yesterday's with what is left; each keeps its most recent lines. "" if none."""
    agent = resolve_agent(agent_slug)
    today = today or agent_today(agent)
    sections: list[str] = []
    budget = cap_chars
    for label, date in (("today", today), ("yesterday", today - dt.timedelta(days=1))):
        doc = synced_document(agent, date)
        if doc is None or doc.missing or not doc.content.strip():
            continue
        header = f"{doc.path} ({label}):\n"
        body = _tail(doc.content.strip(), budget - len(header), doc.path)
        if not body:
            break
        sections.insert(0, header + body)
        budget -= len(header) + len(body) + 2
    return "\n\n".join(sections)
