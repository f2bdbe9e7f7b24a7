"""File tools stay inside the workspace, keep memory files for the memory tools, and work."""

import os
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from agents.tools import files
from agents.tools.base import ToolContext, ToolError
from agents.tools.files import (
    EditFileTool,
    ListDirTool,
    ReadFileTool,
    WriteFileTool,
    resolve_in_workspace,
)
from tests.agents.tool_context import make_ctx


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret\n")
    ws = tmp_path / "ws"
    (ws / "memory").mkdir(parents=True)
    (ws / "memory" / "2026-01-01.md").write_text("- remembered\n")
    (ws / "MEMORY.md").write_text("# Memory\n")
    (ws / "notes.md").write_text("alpha\nbeta\ngamma\n")
    (ws / "etc-link").symlink_to("/etc")
    (ws / "outside-dir").symlink_to(outside)
    (ws / "secret-link.txt").symlink_to(outside / "secret.txt")
    (ws / "mem-alias").symlink_to(ws / "memory")
    (ws / "notes-link.md").symlink_to(ws / "notes.md")
    return ws


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    return make_ctx(workspace)


ESCAPES = [
    "../x",
    "/etc/passwd",
    "a/../../x",
    "etc-link/passwd",
    "etc-link",
    "outside-dir/secret.txt",
    "outside-dir",
    "secret-link.txt",
    "nul\x00byte.txt",
    "",
    "   ",
    "~/x",
    "~",
]


@pytest.mark.parametrize("user_path", ESCAPES)
def test_resolve_refuses_paths_that_leave_the_workspace(workspace: Path, user_path: str) -> None:
    with pytest.raises(ToolError):
        resolve_in_workspace(workspace, user_path)


def _calls(path: str) -> list[tuple[Any, dict[str, Any]]]:
    calls: list[tuple[Any, dict[str, Any]]] = [
        (ReadFileTool(), {"path": path}),
        (WriteFileTool(), {"path": path, "content": "pwned"}),
        (EditFileTool(), {"path": path, "old_text": "root", "new_text": "toor"}),
    ]
    if path:  # list_dir's path is optional: empty means the workspace root
        calls.append((ListDirTool(), {"path": path}))
    return calls


@pytest.mark.parametrize("user_path", ESCAPES)
async def test_every_file_tool_refuses_escapes(
    ctx: ToolContext, tmp_path: Path, user_path: str
) -> None:
    for tool, args in _calls(user_path):
        with pytest.raises(ToolError):
            await tool.run(args, ctx)
    assert (tmp_path / "outside" / "secret.txt").read_text() == "top secret\n"
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "user_path",
    ["memory/2026-01-01.md", "memory/new.md", "MEMORY.md", "Memory/x.md", "mem-alias/x.md"],
)
async def test_writes_to_memory_are_refused(ctx: ToolContext, user_path: str) -> None:
    with pytest.raises(ToolError, match="memory tools"):
        await WriteFileTool().run({"path": user_path, "content": "x"}, ctx)
    with pytest.raises(ToolError, match="memory tools"):
        await EditFileTool().run({"path": user_path, "old_text": "a", "new_text": "b"}, ctx)


async def test_memory_files_can_be_read(ctx: ToolContext) -> None:
    assert "remembered" in await ReadFileTool().run({"path": "memory/2026-01-01.md"}, ctx)
    assert "# Memory" in await ReadFileTool().run({"path": "MEMORY.md"}, ctx)


def test_open_refuses_a_symlink_swapped_in_after_the_check(workspace: Path) -> None:
    # resolve_in_workspace passed for "sub/f.txt", then "sub" became a symlink to /etc.
    (workspace / "sub").symlink_to("/etc")
    with pytest.raises(OSError):  # noqa: PT011  # ELOOP or ENOTDIR, depending on the flag
        files._open_file(os.path.realpath(workspace), ("sub", "passwd"))


async def test_read_numbers_lines_and_honours_offset_and_limit(ctx: ToolContext) -> None:
    out = await ReadFileTool().run({"path": "notes.md"}, ctx)
    assert out.splitlines() == ["     1\talpha", "     2\tbeta", "     3\tgamma"]
    out = await ReadFileTool().run({"path": "notes.md", "offset": 2, "limit": 1}, ctx)
    assert out.splitlines()[0] == "     2\tbeta"
    assert "continue with offset=3" in out


async def test_read_output_is_capped_with_a_notice(
    ctx: ToolContext, workspace: Path, settings: Settings
) -> None:
    settings.OPENCLAW_TOOL_OUTPUT_CHARS = 300
    (workspace / "long.txt").write_text("".join(f"line {i}\n" for i in range(1000)))
    out = await ReadFileTool().run({"path": "long.txt"}, ctx)
    assert len(out) < 400
    assert "[truncated" in out
    (workspace / "wide.txt").write_text("x" * 100_000)
    out = await ReadFileTool().run({"path": "wide.txt"}, ctx)
    assert len(out) < 400
    assert "[line cut]" in out


async def test_read_refuses_binary_directories_and_missing_files(
    ctx: ToolContext, workspace: Path
) -> None:
    (workspace / "blob.bin").write_bytes(b"\x89PNG\x00\x01")
    with pytest.raises(ToolError, match="binary"):
        await ReadFileTool().run({"path": "blob.bin"}, ctx)
    with pytest.raises(ToolError, match="list_dir"):
        await ReadFileTool().run({"path": "memory"}, ctx)
    with pytest.raises(ToolError, match="does not exist"):
        await ReadFileTool().run({"path": "nope.md"}, ctx)


async def test_symlinks_inside_the_workspace_are_followed(ctx: ToolContext) -> None:
    assert "beta" in await ReadFileTool().run({"path": "notes-link.md"}, ctx)


async def test_write_creates_parents_atomically(ctx: ToolContext, workspace: Path) -> None:
    result = await WriteFileTool().run({"path": "a/b/c.txt", "content": "héllo\n"}, ctx)
    assert "Wrote 7 bytes" in result
    assert (workspace / "a" / "b" / "c.txt").read_text() == "héllo\n"
    await WriteFileTool().run({"path": "a/b/c.txt", "content": "second"}, ctx)
    assert (workspace / "a" / "b" / "c.txt").read_text() == "second"
    assert os.listdir(workspace / "a" / "b") == ["c.txt"]  # no temporary files left behind


async def test_write_keeps_the_mode_of_an_existing_file(ctx: ToolContext, workspace: Path) -> None:
    script = workspace / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o750)
    await WriteFileTool().run({"path": "run.sh", "content": "echo new\n"}, ctx)
    assert script.stat().st_mode & 0o777 == 0o750


async def test_write_refuses_content_over_one_megabyte(ctx: ToolContext, workspace: Path) -> None:
    with pytest.raises(ToolError, match="1 MB"):
        await WriteFileTool().run({"path": "big.txt", "content": "x" * 1_000_001}, ctx)
    assert not (workspace / "big.txt").exists()


async def test_edit_replaces_a_unique_match(ctx: ToolContext, workspace: Path) -> None:
    result = await EditFileTool().run(
        {"path": "notes.md", "old_text": "beta\n", "new_text": "BETA\n"}, ctx
    )
    assert "replaced 1" in result
    assert (workspace / "notes.md").read_text() == "alpha\nBETA\ngamma\n"


async def test_edit_explains_missing_and_ambiguous_matches(
    ctx: ToolContext, workspace: Path
) -> None:
    with pytest.raises(ToolError, match="not found"):
        await EditFileTool().run({"path": "notes.md", "old_text": "delta", "new_text": "x"}, ctx)
    (workspace / "twice.txt").write_text("same\nsame\n")
    with pytest.raises(ToolError, match="matches 2 places"):
        await EditFileTool().run({"path": "twice.txt", "old_text": "same", "new_text": "x"}, ctx)
    assert (workspace / "twice.txt").read_text() == "same\nsame\n"


async def test_list_dir_marks_directories_and_sizes(ctx: ToolContext) -> None:
    out = await ListDirTool().run({}, ctx)
    lines = out.splitlines()
    assert "memory/" in lines
    assert "notes.md  17 B" in lines
    assert "etc-link@" in lines
    assert await ListDirTool().run({"path": "memory"}, ctx) == "2026-01-01.md  13 B"


async def test_list_dir_defaults_to_the_workspace_root(ctx: ToolContext) -> None:
    root = await ListDirTool().run({}, ctx)
    assert await ListDirTool().run({"path": ""}, ctx) == root
    assert await ListDirTool().run({"path": "."}, ctx) == root


async def test_list_dir_refuses_a_file(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="not a directory"):
        await ListDirTool().run({"path": "notes.md"}, ctx)


async def test_arguments_of_the_wrong_type_are_explained(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="'path' must be a string"):
        await ReadFileTool().run({"path": 3}, ctx)
    with pytest.raises(ToolError, match="Missing required argument 'content'"):
        await WriteFileTool().run({"path": "x.txt"}, ctx)
