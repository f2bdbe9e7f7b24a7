"""Memory tools: memory_search, memory_get, memory_append (today's log), memory_edit (MEMORY.md).

Each is a thin edge over memory.services; the agent is always the session's own, and paths
are checked to be exactly MEMORY.md or memory/<name>.md before anything is opened.
"""

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from agents.services import NotFound
from agents.tools.base import Tool, ToolContext, ToolError
from agents.tools.common import cap_text, int_arg, str_arg
from memory import services
from memory.embeddings import embed_query
from memory.excerpts import render
from memory.files import UnsafePath
from memory.search import SearchResult
from memory.services import FileSlice, MemoryConflict, MemoryRefused, WriteResult

DEFAULT_GET_LINES = 200
MAX_GET_LINES = 2000


def _output_cap() -> int:
    return int(settings.OPENCLAW_TOOL_OUTPUT_CHARS)


class MemorySearchTool:
    name = "memory_search"
    description = (
        "Search your memory files (MEMORY.md, memory/*.md): matching lines, cited path:lines."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"query": {"type": "string"}, "max_results": {"type": "integer"}},
        "required": ["query"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        query = str_arg(args, "query")
        limit = int_arg(args, "max_results", 6, low=1, high=20)
        vector = await embed_query(query)
        # Cosine scoring is CPU work: keep it off the shared ORM thread that consumers wait on.
        search = database_sync_to_async(services.search_memory, thread_sensitive=vector is None)
        result: SearchResult = await search(ctx.agent.slug, query, limit, vector)
        if not result.hits:
            return result.note or "No matches."
        text = render(result.hits)
        return cap_text(f"{text}\n\n{result.note}" if result.note else text, _output_cap())


class MemoryGetTool:
    name = "memory_get"
    description = "Read lines of MEMORY.md or memory/*.md."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "from_line": {"type": "integer"},
            "lines": {"type": "integer"},
        },
        "required": ["path"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        path = str_arg(args, "path").strip()
        start = int_arg(args, "from_line", 1, low=1, high=10**9)
        count = int_arg(args, "lines", DEFAULT_GET_LINES, low=1, high=MAX_GET_LINES)
        try:
            part: FileSlice = await database_sync_to_async(services.get_memory_file)(
                ctx.agent.slug, path, start, count
            )
        except (UnsafePath, NotFound) as error:
            raise ToolError(str(error)) from None
        if part.total_lines == 0:
            return f"{part.path} is empty."
        if part.to_line < part.from_line:
            return f"{part.path} has {part.total_lines} lines; from_line is past the end."
        header = f"{part.path} lines {part.from_line}-{part.to_line} of {part.total_lines}"
        return cap_text(f"{header}\n{part.text}", _output_cap())


class MemoryAppendTool:
    name = "memory_append"
    description = "Add a timestamped note to today's memory log."
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        text = str_arg(args, "text")
        try:
            result: WriteResult = await database_sync_to_async(services.append_daily_log)(
                ctx.agent.slug, text, None, f"agent:{ctx.session.key}"
            )
        except (MemoryRefused, MemoryConflict) as error:
            raise ToolError(str(error)) from None
        return f"Appended to {result.path}."


class MemoryEditTool:
    name = "memory_edit"
    description = (
        "Edit MEMORY.md (sent with every prompt; keep it short): "
        "{old_text, new_text} replaces one exact occurrence; {content} replaces the file."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "old_text": {"type": "string"},
            "new_text": {"type": "string"},
            "content": {"type": "string"},
        },
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        actor = f"agent:{ctx.session.key}"
        cap = int(settings.OPENCLAW_MEMORY_MAX_CHARS)
        content = str_arg(args, "content", required=False, default="")
        old = str_arg(args, "old_text", required=False, default="")
        try:
            if "content" in args and "old_text" not in args:
                # The model has no version hash; the replaced text is kept as a revision.
                result: WriteResult = await database_sync_to_async(services.write_working_memory)(
                    ctx.agent.slug, content, None, actor, cap=cap
                )
            elif old:
                new = str_arg(args, "new_text", required=False, default="")
                result = await database_sync_to_async(services.edit_working_memory)(
                    ctx.agent.slug, old, new, actor, cap=cap
                )
            else:
                raise ToolError("Give old_text and new_text, or content.")
        except (MemoryRefused, MemoryConflict) as error:
            raise ToolError(str(error)) from None
        if not result.changed:
            return "MEMORY.md unchanged (same text)."
        return f"MEMORY.md saved ({len(result.content):,} of {cap:,} characters)."


def memory_tools() -> list[Tool]:
    """Fresh instances of the four memory tools, for the loop's registry."""
    return [MemorySearchTool(), MemoryGetTool(), MemoryAppendTool(), MemoryEditTool()]
