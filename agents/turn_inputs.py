"""What a model call reads, gathered cheaply: the transcript, the bootstrap files, the skill
folders and MEMORY.md in one thread hop, MEMORY.md through the memory app only when it changed
on disk, tool specs built once per tool; and token counts added up across calls."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.context import estimate_tokens
from agents.media.parts import with_images
from agents.skills import Skill, discover
from agents.tools.base import Tool, tool_spec
from agents.transcripts import Entry, Usage, append_entries, read_entries
from agents.workspace import WorkspaceFile, read_bootstrap_files
from memory import services as memory
from openclaw.perf import offload


def add_usage(total: Usage, more: Usage | None) -> Usage:
    """The sum of two calls' token counts (cache reads and writes only when there are some)."""
    if more is None:
        return total
    merged: Usage = {
        "prompt_tokens": total["prompt_tokens"] + more["prompt_tokens"],
        "completion_tokens": total["completion_tokens"] + more["completion_tokens"],
        "total_tokens": total["total_tokens"] + more["total_tokens"],
    }
    cached = total.get("cached_tokens", 0) + more.get("cached_tokens", 0)
    if cached:
        merged["cached_tokens"] = cached
    written = total.get("cache_creation_tokens", 0) + more.get("cache_creation_tokens", 0)
    if written:
        merged["cache_creation_tokens"] = written
    return merged


# agent slug → ((mtime_ns, size) of MEMORY.md, content as the memory app last gave it)
_memory_seen: dict[str, tuple[tuple[int, int], str]] = {}


def file_version(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) of a file; (0, -1) when it is missing."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return (0, -1)
    return (info.st_mtime_ns, info.st_size)


@dataclass(frozen=True, slots=True)
class DiskRead:
    """What a model call reads from disk."""

    files: list[WorkspaceFile]
    memory_version: tuple[int, int]
    entries: list[Entry]
    skills: tuple[Skill, ...] = ()


def write_and_read(
    transcript: Path, pending: list[Entry], workspace: Path, *, fsync: bool
) -> DiskRead:
    """Append `pending` to the transcript, then read the bootstrap files, MEMORY.md's version,
    the transcript and the skill folders: the file I/O of a model call in one thread hop."""
    if pending:
        append_entries(transcript, pending, fsync=fsync)
    return DiskRead(
        read_bootstrap_files(workspace),
        file_version(workspace / "MEMORY.md"),
        with_images(read_entries(transcript)),  # the turn's images (agents.media.parts)
        discover(workspace),
    )


async def working_memory(slug: str, version: tuple[int, int]) -> str:
    """MEMORY.md through the memory app (which syncs a changed file into its row), skipping
    that round trip while the file is unchanged on disk (`version`: its mtime and size)."""
    seen = _memory_seen.get(slug)
    if seen is not None and seen[0] == version:
        return seen[1]
    current: memory.MemoryFile = await offload.database(memory.read_working_memory, slug)
    content = current.content
    _memory_seen[slug] = (version, content)
    return content


# id(tool) → (the tool, kept so its id stays its own; its spec; the spec's estimated tokens)
_specs: dict[int, tuple[Tool, dict[str, Any], int]] = {}


def measured_spec(tool: Tool) -> tuple[dict[str, Any], int]:
    """A tool's spec and its estimated tokens: the same for every turn and round, so built
    once per tool (callers MUST NOT modify the spec)."""
    known = _specs.get(id(tool))
    if known is None or known[0] is not tool:
        spec = tool_spec(tool)
        known = _specs[id(tool)] = (tool, spec, estimate_tokens(str(spec)))
    return known[1], known[2]
