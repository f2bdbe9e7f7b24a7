"""Append-only JSONL session transcripts: a JSON object a line, flushed per entry, never rewritten.

Blocking file I/O lives here as plain functions; async callers reach them through one
`asyncio.to_thread` boundary (`append_entries_async`, `read_entries_async`).
"""

import asyncio
import contextlib
import gzip
import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings

logger = logging.getLogger(__name__)

EntryType = Literal["session", "context", "message", "tool_result", "compaction", "error", "notice"]


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: NotRequired[int]


class Entry(TypedDict):
    type: EntryType
    ts: str
    role: NotRequired[str]
    content: NotRequired[str]
    run: NotRequired[str]
    usage: NotRequired[Usage]
    stop_reason: NotRequired[str]
    tool_calls: NotRequired[list[dict[str, Any]]]
    meta: NotRequired[dict[str, Any]]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def make_entry(type_: EntryType, **fields: Any) -> Entry:
    entry: dict[str, Any] = {"type": type_, "ts": now_iso()}
    entry.update({k: v for k, v in fields.items() if v is not None})
    return entry  # type: ignore[return-value]  # keys are checked by callers' keyword names


def _capped(entry: Entry, cap: int) -> Entry:
    content = entry.get("content")
    if content is None or len(content) <= cap:
        return entry
    notice = f"\n[… {len(content) - cap} characters not kept in the transcript …]"
    meta = {**entry.get("meta", {}), "truncated_chars": len(content) - cap}
    return {**entry, "content": content[:cap] + notice, "meta": meta}


class TranscriptWriteError(OSError):
    """A transcript could not be written (disk full, file size limit, read-only directory).
    The file is left as it was before the attempt: no torn line, nothing half-written."""


def append_entries(path: Path, entries: Iterable[Entry], *, fsync: bool = False) -> None:
    """Append entries, one line each, in a single write; the file is created on first use.
    Content past OPENCLAW_MAX_TRANSCRIPT_ENTRY_CHARS is cut with a visible notice. Raises
    `TranscriptWriteError` when the disk refuses, after cutting back any part written."""
    cap = settings.OPENCLAW_MAX_TRANSCRIPT_ENTRY_CHARS
    data = "".join(
        json.dumps(_capped(e, cap), ensure_ascii=False, separators=(",", ":")) + "\n"
        for e in entries
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as error:
        raise _write_error(path, error) from error
    try:
        size = os.fstat(fd).st_size
        # After a crash the last line may be torn: start on a fresh line so the new entry survives.
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            data = "\n" + data
        _write_all(fd, path, size, data.encode("utf-8"), fsync=fsync)
    finally:
        os.close(fd)


def _write_all(fd: int, path: Path, size: int, payload: bytes, *, fsync: bool) -> None:
    view = memoryview(payload)
    try:
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
    except OSError as error:
        with contextlib.suppress(OSError):  # shrinking needs no space
            os.ftruncate(fd, size)
        raise _write_error(path, error) from error


def _write_error(path: Path, error: OSError) -> TranscriptWriteError:
    reason = error.strerror or type(error).__name__
    logger.error("Transcript %s not written: %s", path, reason)
    return TranscriptWriteError(
        error.errno or 0, f"The conversation could not be saved ({reason})."
    )


def read_entries(path: Path, skipped: list[int] | None = None) -> list[Entry]:
    """Read every entry; a torn or corrupt line (a crash mid-write) is skipped, not fatal.
    The numbers of skipped lines are appended to `skipped` if given (the admin shows them)."""
    try:
        # A `.gz` path is a transcript archived by retention (memory/retention.py).
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        return []
    entries: list[Entry] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            logger.warning("Skipping unreadable line %d of %s", number, path)
            value = None
        if isinstance(value, dict) and "type" in value:
            entries.append(value)  # type: ignore[arg-type]
        elif skipped is not None:
            skipped.append(number)
    return entries


async def append_entries_async(path: Path, entries: list[Entry], *, fsync: bool = False) -> None:
    await asyncio.to_thread(append_entries, path, entries, fsync=fsync)


async def read_entries_async(path: Path) -> list[Entry]:
    return await asyncio.to_thread(read_entries, path)
