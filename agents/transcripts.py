"""Append-only JSONL session transcripts: a JSON object a line, flushed per entry, never rewritten.

Blocking file I/O lives here as plain functions; async callers reach them through one
boundary (`append_entries_async`, `read_entries_async`: `openclaw.perf.offload.files`).
"""

import contextlib
import gzip
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from django.conf import settings

from openclaw.perf import offload

logger = logging.getLogger(__name__)

EntryType = Literal["session", "context", "message", "tool_result", "compaction", "error", "notice"]


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: NotRequired[int]  # input tokens read from the provider's prompt cache
    cache_creation_tokens: NotRequired[int]  # input tokens written to it (Anthropic bills them)


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
    # Few system calls: under load each one in a worker thread costs a GIL hand-off with the
    # busy event loop.
    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT
    try:
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:  # the first entry of the agent's first session
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o644)
    except OSError as error:
        raise _write_error(path, error) from error
    try:
        info = os.fstat(fd)
        size = info.st_size
        # After a crash the last line may be torn: start on a fresh line so the new entry
        # survives (no need to look when the last read parsed the file up to its end).
        if size > 0 and not _parsed.ends_whole(path, info) and os.pread(fd, 1, size - 1) != b"\n":
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
    The numbers of skipped lines are appended to `skipped` if given (the admin shows them).

    Every model call reads its session's whole transcript, which only grows: the entries of
    the whole lines read before are remembered (per file, while its inode, size and last bytes
    say it was only appended to), so a call parses only what was appended since. Callers MUST
    NOT modify the entries returned."""
    if skipped is not None or path.suffix == ".gz":
        try:
            # A `.gz` path is a transcript archived by retention (memory/retention.py).
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        except FileNotFoundError:
            return []
        return _parse(raw, path, 1, skipped)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    try:  # four system calls (see `append_entries`)
        info = os.fstat(fd)
        known = _parsed.get(path)
        data: bytes | None = None
        if known is not None and info.st_ino == known.inode and info.st_size >= known.size:
            # What follows, with the bytes it must follow: one read tells both.
            start = known.size - len(known.tail)
            read = _read_at(fd, start, info.st_size - start)
            if read.startswith(known.tail):
                data = read[len(known.tail) :]
        if data is None:  # new, replaced or rewritten: read whole
            known, data = None, _read_at(fd, 0, info.st_size)
    finally:
        os.close(fd)
    whole = data.rfind(b"\n") + 1  # a last line without its newline may still be being written
    lines = known.lines if known is not None else 0
    entries = [*known.entries] if known is not None else []
    entries += _parse(data[:whole], path, lines + 1)
    if whole:
        _parsed.remember(
            path,
            _Parsed(
                info.st_ino,
                (known.size if known is not None else 0) + whole,
                data[max(whole - _CHECK_BYTES, 0) : whole],
                lines + data.count(b"\n", 0, whole),
                tuple(entries),
            ),
        )
    return entries + _parse(data[whole:], path, lines + data.count(b"\n", 0, whole) + 1)


def _read_at(fd: int, offset: int, size: int) -> bytes:
    """`size` bytes from `offset` (fewer at the end of the file)."""
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset, size = offset + len(chunk), size - len(chunk)
    return b"".join(chunks)


def _parse(
    raw: bytes, path: Path, first_line: int, skipped: list[int] | None = None
) -> list[Entry]:
    entries: list[Entry] = []
    for number, line in enumerate(raw.splitlines(), start=first_line):
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


_CHECK_BYTES = 64  # the end of what was parsed, compared before parsing only what follows


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The entries of a transcript's first `size` bytes (whole lines), and how to tell the
    file was only appended to since: same inode, not shorter, same bytes before `size`."""

    inode: int
    size: int
    tail: bytes
    lines: int
    entries: tuple[Entry, ...]


class _ParsedCache:
    """The most recently read transcripts' entries, up to `max_bytes` of their files (thread
    safe: transcripts are read in worker threads)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Path, _Parsed] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, path: Path) -> _Parsed | None:
        with self._lock:
            return self._items.get(path)

    def ends_whole(self, path: Path, info: os.stat_result) -> bool:
        """True when the file (`info`: its stat) is exactly what the last read parsed: whole
        lines, so it ends with a newline."""
        with self._lock:
            known = self._items.get(path)
        return known is not None and (known.inode, known.size) == (info.st_ino, info.st_size)

    def remember(self, path: Path, parsed: _Parsed) -> None:
        with self._lock:
            old = self._items.pop(path, None)
            self._bytes -= old.size if old is not None else 0
            if parsed.size > self.max_bytes:
                return
            self._items[path] = parsed
            self._bytes += parsed.size
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


# About three times this in memory as Python objects; a transcript past it is parsed each time.
_parsed = _ParsedCache(max_bytes=16 * 1024 * 1024)


async def append_entries_async(path: Path, entries: list[Entry], *, fsync: bool = False) -> None:
    await offload.files(append_entries, path, entries, fsync=fsync)


async def read_entries_async(path: Path) -> list[Entry]:
    return await offload.files(read_entries, path)
