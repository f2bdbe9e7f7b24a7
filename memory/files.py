"""The only code that reads, writes and watches memory files. Paths are built from a workspace
and a date or a checked name (never from raw user text); writes are atomic: temp file, fsync,
rename, fsync the folder."""

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchfiles import Change

from memory.models import WORKING_MEMORY_PATH, daily_log_path

_DAILY = re.compile(r"memory/(\d{4})-(\d{2})-(\d{2})\.md")
_DAILY_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})\.md")
_TEMP = re.compile(r"\.(MEMORY|\d{4}-\d{2}-\d{2})\.md\.[0-9a-f]{12}\.tmp")
# Other memory/*.md files ("notes"): a visible name of printable characters, no separators.
_NOTE_NAME = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,196}\.md")
_DATE_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?!\d)")
EMPTY_HASH = hashlib.sha256(b"").hexdigest()


class UnsafePath(ValueError):
    """A memory path that is not `MEMORY.md` or `memory/YYYY-MM-DD.md`, or leaves the workspace."""


@dataclass(frozen=True, slots=True)
class FileState:
    content: str
    content_hash: str
    mtime_ns: int
    size: int


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def relpath(date: dt.date | None) -> str:
    """The workspace-relative path of MEMORY.md (None) or of a day's log."""
    return WORKING_MEMORY_PATH if date is None else daily_log_path(date)


def parse_relpath(path: str) -> dt.date | None:
    """The date named by a memory path (None for MEMORY.md); `UnsafePath` for anything else.

    Only two exact shapes are accepted, so `..`, absolute paths, other files and odd spellings
    (`./MEMORY.md`, `memory//x`) are refused before any path is built.
    """
    if path == WORKING_MEMORY_PATH:
        return None
    match = _DAILY.fullmatch(path)
    if match:
        with contextlib.suppress(ValueError):
            return dt.date(*(int(g) for g in match.groups()))
    raise UnsafePath(
        f"{path!r} is not a memory file: use MEMORY.md or memory/YYYY-MM-DD.md "
        "(a real date), relative to the workspace."
    )


def resolve(workspace: Path, date: dt.date | None) -> Path:
    """The file's absolute path; `UnsafePath` if a symlink leads it out of the workspace."""
    path = workspace / relpath(date)
    root = workspace.resolve()
    if not path.resolve().is_relative_to(root):
        raise UnsafePath(f"{relpath(date)} leads outside the workspace (symlink); refused.")
    return path


def stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def read(path: Path) -> FileState | None:
    """The file's content and version, or None if it does not exist."""
    try:
        with path.open("rb") as handle:
            data = handle.read()
            info = os.fstat(handle.fileno())
    except FileNotFoundError:
        return None
    text = data.decode("utf-8", errors="replace")
    return FileState(text, content_hash(text), info.st_mtime_ns, info.st_size)


def write_atomic(path: Path, content: str) -> FileState:
    """Replace the file's content in one step: a crash leaves either the old or the new file,
    never a mix. A leftover temp file (`.<name>.<random>.tmp`) is ignored by every reader."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    previous = stat(path)
    mode = previous.st_mode & 0o777 if previous else 0o644
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    info = path.stat()
    return FileState(content, content_hash(content), info.st_mtime_ns, info.st_size)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse fsync on a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temp_files(workspace: Path, older_than: float = 3600.0) -> None:
    """Delete temp files a crash left behind (never younger ones: a write may be running)."""
    now = time.time()
    for folder in (workspace, workspace / "memory"):
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                if _TEMP.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        if now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                            os.unlink(entry.path)


def is_current(known: tuple[int | None, int | None, bool], info: os.stat_result | None) -> bool:
    """Whether a row's (mtime_ns, size, missing) still describes the file `info` stats (None:
    no file)."""
    if info is None:
        return known[2]
    return not known[2] and (known[0], known[1]) == (info.st_mtime_ns, info.st_size)


def is_note_name(name: str) -> bool:
    """A `memory/*.md` file that is not a daily log (`YYYY-MM-DD.md`) nor hidden."""
    return bool(_NOTE_NAME.fullmatch(name)) and not _DAILY_NAME.fullmatch(name)


def note_date(name: str) -> dt.date | None:
    """The day a note belongs to: the date its name starts with (`2026-11-02-meeting.md`)."""
    match = _DATE_PREFIX.match(name)
    if match:
        with contextlib.suppress(ValueError):
            return dt.date(*(int(g) for g in match.groups()))
    return None


def parse_note_relpath(path: str) -> str | None:
    """The note name of `memory/<name>.md`, or None when `path` is not one."""
    folder, _, name = path.partition("/")
    return name if folder == "memory" and is_note_name(name) else None


def resolve_note(workspace: Path, name: str) -> Path:
    """A note's absolute path; `UnsafePath` for a bad name or a symlink out of the workspace."""
    if not is_note_name(name):
        raise UnsafePath(f"memory/{name} is not a memory file name.")
    path = workspace / "memory" / name
    if not path.resolve().is_relative_to(workspace.resolve()):
        raise UnsafePath(f"memory/{name} leads outside the workspace (symlink); refused.")
    return path


def note_files(workspace: Path) -> dict[str, os.stat_result]:
    """The notes in memory/ with their stat (one `scandir`); symlinks out are skipped."""
    found: dict[str, os.stat_result] = {}
    for entry in _memory_entries(workspace):
        if not is_note_name(entry.name) or not entry.is_file():
            continue
        if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(
            workspace.resolve()
        ):
            continue
        with contextlib.suppress(FileNotFoundError):
            found[entry.name] = entry.stat()
    return found


def listing_version(workspace: Path) -> int | None:
    """memory/'s own mtime: it changes when a file there is created, deleted or renamed
    (editors save by renaming a temp file), so one `stat` tells whether to rescan."""
    info = stat(workspace / "memory")
    return None if info is None else info.st_mtime_ns


def _memory_entries(workspace: Path) -> list[os.DirEntry[str]]:
    root = workspace.resolve()
    try:
        if not (workspace / "memory").resolve().is_relative_to(root):
            return []  # memory/ is a symlink out of the workspace: not ours to read
        return list(os.scandir(workspace / "memory"))
    except FileNotFoundError:
        return []


def daily_log_dates(workspace: Path) -> dict[dt.date, os.stat_result]:
    """The days that have a log file, with its stat (one `scandir` of memory/)."""
    found: dict[dt.date, os.stat_result] = {}
    root = workspace.resolve()
    for entry in _memory_entries(workspace):
        match = _DAILY_NAME.fullmatch(entry.name)
        if not match or not entry.is_file():
            continue
        if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(root):
            continue
        try:
            found[dt.date(*(int(g) for g in match.groups()))] = entry.stat()
        except (ValueError, FileNotFoundError):
            continue
    return found


def _is_memory_file(_change: "Change", path: str) -> bool:
    file = Path(path)
    if file.name == "memory":  # memory/ itself appeared or went: the watch must change
        return True
    return file.suffix == ".md" and (file.name == "MEMORY.md" or file.parent.name == "memory")


def _watched_folders(roots: Sequence[Path]) -> list[Path]:
    # Each workspace and its memory/, not recursively: a workspace may hold any number of
    # other folders, and each watched folder costs an inotify watch.
    return [*roots, *(root / "memory" for root in roots if (root / "memory").is_dir())]


async def changed_workspaces(roots: Sequence[Path], seconds: float) -> AsyncIterator[set[Path]]:
    """For `seconds`: which of the workspaces `roots` had a memory file (MEMORY.md,
    memory/*.md) created, changed or deleted, batch after batch, as the OS reports them.
    Ends early when a workspace's memory/ folder appears or goes, so that the caller watches
    again with it (and meanwhile syncs that workspace)."""
    # Imported here: watchfiles and anyio cost ~55 ms of import, and only the gateway's
    # watcher needs them (commands, workers and tests that never watch do not pay it).
    from watchfiles import awatch

    folders = await asyncio.to_thread(_watched_folders, roots)
    stop = asyncio.Event()
    timer = asyncio.get_running_loop().call_later(seconds, stop.set)
    try:
        # debounce: an editor's save (temp file, rename, chmod) arrives as one batch.
        # rust_timeout: a cancelled watch waits for its thread to return, so it returns often
        # (the gateway's shutdown must not wait seconds for it).
        async for changes in awatch(
            *folders,
            watch_filter=_is_memory_file,
            stop_event=stop,
            debounce=30,
            step=10,
            rust_timeout=200,
            recursive=False,
        ):
            paths = [Path(path) for _, path in changes]
            yield {root for root in roots if any(path.is_relative_to(root) for path in paths)}
            if any(path.name == "memory" for path in paths):
                return
    finally:
        timer.cancel()
