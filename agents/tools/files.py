"""File tools confined to the agent's workspace: read_file, write_file, edit_file, list_dir
(read_file may also read a shared skill's files, read-only: `agents.skills_access`).

Paths go through `resolve_in_workspace`; files are then opened one component at a time with
O_NOFOLLOW, so a symlink swapped in after the check fails to open instead of leading outside.
"""

import asyncio
import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings

from agents.skills_access import shared_skill_file
from agents.tools.base import ToolContext, ToolError
from agents.tools.common import cap_text, int_arg, str_arg

MAX_WRITE_BYTES = 1_000_000
MAX_LIST_ENTRIES = 500
DEFAULT_READ_LINES = 2000
_BINARY_PROBE = 8192


def resolve_in_workspace(workspace: Path, user_path: str) -> Path:
    """The real path (no symlinks) that relative `user_path` names inside `workspace`.

    Raises ToolError for an empty, absolute or `~` path, a NUL byte, any `..` component, or a
    path that leads outside the workspace through a symlink anywhere along it.
    """
    if not user_path or not user_path.strip():
        raise ToolError("The path is empty: give a path relative to the workspace, e.g. notes.md.")
    if "\x00" in user_path:
        raise ToolError("The path contains a NUL byte.")
    if user_path.startswith("~") or os.path.isabs(user_path):
        raise ToolError(f"{user_path!r} is not relative: give a path relative to the workspace.")
    if ".." in PurePosixPath(user_path).parts:
        raise ToolError(f"{user_path!r} contains '..': give a path inside the workspace.")
    root = os.path.realpath(workspace)
    real = os.path.realpath(os.path.join(root, user_path))
    if real != root and not real.startswith(root + os.sep):
        raise ToolError(f"{user_path!r} leads outside the workspace through a symlink.")
    return Path(real)


PRIVATE = "The owner's memory (MEMORY.md, memory/) is private: it is not available in this chat."


def check_not_private(ctx: ToolContext, real: Path) -> None:
    """Below the owner, the owner's memory stays private whatever tools a chat may use:
    MEMORY.md and memory/ (real paths, so a link to them counts) are refused to paired users
    always and to groups unless the agent shows its memory to groups. Raises ToolError."""
    if ctx.trust == "owner" or (ctx.trust == "group" and ctx.agent.memory_in_groups):
        return
    root = Path(os.path.realpath(ctx.workspace))
    memory = root / "memory"
    if real in (root / "MEMORY.md", memory) or memory in real.parents:
        raise ToolError(PRIVATE)


def resolve_shareable(ctx: ToolContext, user_path: str) -> Path:
    """`resolve_in_workspace`, then `check_not_private`: what this turn may read or send."""
    real = resolve_in_workspace(ctx.workspace, user_path)
    check_not_private(ctx, real)
    return real


def _parts(workspace: Path, user_path: str) -> tuple[str, tuple[str, ...]]:
    """(real workspace root, components of the resolved path below it)."""
    real = resolve_in_workspace(workspace, user_path)
    root = os.path.realpath(workspace)
    return root, real.relative_to(root).parts


def _check_writable(user_path: str, parts: tuple[str, ...]) -> None:
    # Memory files are mirrored in the database; only the memory tools keep the two in sync.
    # Compared case-insensitively, as the workspace may live on a case-insensitive file system.
    if not parts:
        raise ToolError("The path names the workspace directory itself, not a file.")
    head = parts[0].casefold()
    if head == "memory" or (len(parts) == 1 and head == "memory.md"):
        raise ToolError(
            f"{user_path!r} is memory: write memory/ and MEMORY.md with the memory tools "
            "(reading them with read_file is fine)."
        )


def _open_dir(root: str, parts: tuple[str, ...], *, create: bool = False) -> int:
    """A descriptor for root/parts, walked one directory at a time without following symlinks."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            child = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_file(root: str, parts: tuple[str, ...]) -> IO[bytes]:
    """A regular file opened for reading; the final component must not be a symlink."""
    parent = _open_dir(root, parts[:-1])
    try:
        # O_NONBLOCK: opening a FIFO must not hang the worker thread.
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(parts[-1], flags, dir_fd=parent)
    finally:
        os.close(parent)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        raise ToolError("Not a regular file (a device, socket or FIFO).")
    return os.fdopen(fd, "rb")


def _atomic_write(root: str, parts: tuple[str, ...], data: bytes) -> None:
    """Write via a temporary file, fsync and rename, so readers see the old or the new file."""
    parent = _open_dir(root, parts[:-1], create=True)
    name = parts[-1]
    tmp = f".{name}.{secrets.token_hex(4)}.tmp"
    try:
        try:
            old = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None and stat.S_ISDIR(old.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o666, dir_fd=parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if old is not None and stat.S_ISREG(old.st_mode):
                    os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))
                os.fsync(handle.fileno())
            os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
        os.fsync(parent)
    finally:
        os.close(parent)


def _lines(handle: IO[bytes], max_line: int) -> Iterator[tuple[bytes, bool]]:
    """(line, was_cut) pairs; an overlong line is cut and its rest skipped, not held in memory."""
    while line := handle.readline(max_line):
        cut = len(line) == max_line and not line.endswith(b"\n")
        if cut:
            while (rest := handle.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield line, cut


def read_slice(workspace: Path, user_path: str, offset: int, limit: int, cap: int) -> str:
    root, parts = _parts(workspace, user_path)
    if not parts:
        raise ToolError(f"{user_path!r} is the workspace directory: use list_dir.")
    with _os_errors(user_path), _open_file(root, parts) as handle:
        if b"\x00" in handle.read(_BINARY_PROBE):
            raise ToolError(f"{user_path!r} is a binary file; read_file shows text only.")
        handle.seek(0)
        out: list[str] = []
        used, last, more = 0, 0, False
        for number, (raw, cut) in enumerate(_lines(handle, cap * 4), start=1):
            if number < offset:
                continue
            if number >= offset + limit:
                more = True
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            text = f"{number:>6}\t{line}{' [line cut]' if cut else ''}\n"
            if used + len(text) > cap:
                if not out:  # one enormous line: show its start rather than nothing
                    out.append(text[:cap] + " [line cut]\n")
                    last = number
                more = True
                break
            out.append(text)
            used += len(text)
            last = number
    if not out:
        if offset > 1:
            raise ToolError(f"{user_path!r} has fewer than {offset} lines.")
        return f"({user_path} is empty)"
    if more:
        out.append(f"[truncated: more lines follow; continue with offset={last + 1}]\n")
    return "".join(out).rstrip("\n")


def write_text(workspace: Path, user_path: str, content: str) -> str:
    data = content.encode("utf-8")
    if len(data) > MAX_WRITE_BYTES:
        raise ToolError(f"Content is {len(data)} bytes; write_file accepts at most 1 MB.")
    root, parts = _parts(workspace, user_path)
    _check_writable(user_path, parts)
    with _os_errors(user_path):
        _atomic_write(root, parts, data)
    return f"Wrote {len(data)} bytes to {user_path}."


def edit_text(workspace: Path, user_path: str, old_text: str, new_text: str) -> str:
    if not old_text:
        raise ToolError("old_text is empty: copy the exact text to replace from read_file.")
    root, parts = _parts(workspace, user_path)
    _check_writable(user_path, parts)
    with _os_errors(user_path):
        with _open_file(root, parts) as handle:
            data = handle.read(MAX_WRITE_BYTES + 1)
        if len(data) > MAX_WRITE_BYTES:
            raise ToolError(f"{user_path!r} is larger than 1 MB; edit_file cannot change it.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{user_path!r} is not UTF-8 text; edit_file cannot edit it.") from None
        count = text.count(old_text)
        if count == 0:
            raise ToolError(
                f"old_text not found in {user_path}: copy it exactly (whitespace included) "
                "from read_file, without the line numbers."
            )
        if count > 1:
            raise ToolError(
                f"old_text matches {count} places in {user_path}: include more surrounding "
                "lines so it matches exactly one."
            )
        updated = text.replace(old_text, new_text, 1).encode("utf-8")
        if len(updated) > MAX_WRITE_BYTES:
            raise ToolError("The edited file would exceed 1 MB.")
        _atomic_write(root, parts, updated)
    return f"Edited {user_path}: replaced 1 occurrence."


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    exp = min(3, (n.bit_length() - 1) // 10)
    return f"{n / 1024**exp:.1f} {'KMG'[exp - 1]}B"


def list_entries(workspace: Path, user_path: str, cap: int) -> str:
    root, parts = _parts(workspace, user_path)
    lines = []
    with _os_errors(user_path):
        fd = _open_dir(root, parts)
        try:  # the entries stat through `fd`: keep it open until they are formatted
            with os.scandir(fd) as it:
                entries = sorted(it, key=lambda e: e.name)
            for entry in entries[:MAX_LIST_ENTRIES]:
                if entry.is_symlink():
                    lines.append(f"{entry.name}@")
                elif entry.is_dir(follow_symlinks=False):
                    lines.append(f"{entry.name}/")
                else:
                    size = entry.stat(follow_symlinks=False).st_size
                    lines.append(f"{entry.name}  {_size(size)}")
        finally:
            os.close(fd)
    if len(entries) > MAX_LIST_ENTRIES:
        lines.append(f"[{len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
    return cap_text("\n".join(lines), cap) if lines else f"({user_path} is empty)"


@contextlib.contextmanager
def _os_errors(user_path: str) -> Iterator[None]:
    """Turn OS errors into messages the model can act on."""
    try:
        yield
    except FileNotFoundError:
        raise ToolError(f"{user_path!r} does not exist: check it with list_dir.") from None
    except IsADirectoryError:
        raise ToolError(f"{user_path!r} is a directory: use list_dir.") from None
    except NotADirectoryError:
        raise ToolError(f"{user_path!r}: a component of the path is not a directory.") from None
    except PermissionError:
        raise ToolError(f"{user_path!r}: permission denied.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ToolError(f"{user_path!r}: refused, the path changed to a symlink.") from None
        raise ToolError(f"{user_path!r}: {exc.strerror or exc}.") from None


def _cap() -> int:
    return int(settings.OPENCLAW_TOOL_OUTPUT_CHARS)


class ReadFileTool:
    name = "read_file"
    description = (
        "Read a workspace text file (or a listed shared skill's) with line numbers. "
        "offset: first line (1-based)."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
        },
        "required": ["path"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path = str_arg(args, "path")
        offset = int_arg(args, "offset", 1, low=1, high=10**9)
        limit = int_arg(args, "limit", DEFAULT_READ_LINES, low=1, high=DEFAULT_READ_LINES)
        root = ctx.workspace
        if os.path.isabs(path):  # only a shared skill's file, read-only
            root, path = await asyncio.to_thread(shared_skill_file, ctx.agent, path)
        else:
            await asyncio.to_thread(resolve_shareable, ctx, path)
        return await asyncio.to_thread(read_slice, root, path, offset, limit, _cap())


class WriteFileTool:
    name = "write_file"
    description = "Create or overwrite a workspace file (max 1 MB). Not for memory/ or MEMORY.md."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path, content = str_arg(args, "path"), str_arg(args, "content")
        return await asyncio.to_thread(write_text, ctx.workspace, path, content)


class EditFileTool:
    name = "edit_file"
    description = "Replace old_text (must match exactly once) with new_text in a workspace file."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "old_text": {"type": "string"},
            "new_text": {"type": "string"},
        },
        "required": ["path", "old_text", "new_text"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path = str_arg(args, "path")
        old_text, new_text = str_arg(args, "old_text"), str_arg(args, "new_text")
        return await asyncio.to_thread(edit_text, ctx.workspace, path, old_text, new_text)


class ListDirTool:
    name = "list_dir"
    description = "List a workspace directory (default: the root). Directories end with /."
    parameters: dict[str, Any] = {"type": "object", "properties": {"path": {"type": "string"}}}

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path = str_arg(args, "path", required=False, default=".") or "."
        await asyncio.to_thread(resolve_shareable, ctx, path)
        return await asyncio.to_thread(list_entries, ctx.workspace, path, _cap())
