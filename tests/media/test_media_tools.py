"""send_file and read_media: confined to the workspace and this agent's media; what send_file
queues is what delivery sends (agents.media.outbound), image links only in owner sessions."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from agents.media import store
from agents.media.outbound import answer_files
from agents.tools.base import ToolError
from agents.tools.media import ReadMediaTool, SendFileTool
from agents.transcripts import Entry
from tests.agents.tool_context import make_ctx
from tests.media import samples


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    with override_settings(OPENCLAW_HOME=tmp_path, OPENCLAW_MAX_ATTACHMENT_BYTES=64 * 1024):
        yield tmp_path


@pytest.fixture
def workspace(home: Path) -> Path:
    folder = home / "workspaces" / "main"
    folder.mkdir(parents=True)
    return folder


def run_of(call_id: str, args: dict[str, Any], result: str, ok: bool = True) -> list[Entry]:
    function = {"name": "send_file", "arguments": json.dumps(args)}
    call: dict[str, Any] = {"id": call_id, "type": "function", "function": function}
    return [
        {"type": "message", "ts": "t", "role": "assistant", "run": "r1", "tool_calls": [call]},
        {
            "type": "tool_result",
            "ts": "t",
            "run": "r1",
            "content": result,
            "meta": {"call_id": call_id, "name": "send_file", "ok": ok},
        },
    ]


async def test_send_file_copies_a_workspace_file_and_delivery_finds_it(workspace: Path) -> None:
    chart = samples.png(20, 10)
    (workspace / "chart.png").write_bytes(chart)
    result = await SendFileTool().run({"path": "chart.png", "caption": "hi"}, make_ctx(workspace))
    assert result.startswith("Will send media/main/") and "(chart.png, image/png," in result
    text, files = answer_files(
        "Done.", run_of("c1", {"caption": "hi"}, result), "r1", workspace, agent="main"
    )
    [sent] = files
    assert (text, sent.name, sent.mime, sent.kind, sent.caption) == (
        "Done.",
        "chart.png",
        "image/png",
        "image",
        "hi",
    )
    assert sent.path.read_bytes() == chart and sent.path.is_relative_to(workspace.parent.parent)


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "media/other/2026-01-01/x.png"])
async def test_send_file_stays_in_the_workspace_and_own_media(workspace: Path, path: str) -> None:
    (workspace.parent.parent / "secret.txt").write_text("s")
    with pytest.raises(ToolError):
        await SendFileTool().run({"path": path}, make_ctx(workspace))


async def test_send_file_refuses_what_the_store_refuses(workspace: Path) -> None:
    (workspace / "setup.exe").write_bytes(samples.exe())
    with pytest.raises(ToolError, match="is a program"):
        await SendFileTool().run({"path": "setup.exe"}, make_ctx(workspace))
    (workspace / "big.txt").write_bytes(b"a" * 70_000)
    with pytest.raises(ToolError, match="the limit is 64 KB"):
        await SendFileTool().run({"path": "big.txt"}, make_ctx(workspace))


async def test_read_media_reads_a_document_and_shows_an_image(workspace: Path) -> None:
    doc = store.store_bytes("main", b"line one\nline two\n", name="notes.txt")
    text = await ReadMediaTool().run({"path": doc.path}, make_ctx(workspace))
    assert "line one\nline two" in text
    image = store.store_bytes("main", samples.png(), name="p.png")
    shown = await ReadMediaTool().run({"path": image.path}, make_ctx(workspace))
    assert shown.startswith(f"Showing the image {image.path} ")
    with pytest.raises(ToolError, match="not one of this agent's media files"):
        await ReadMediaTool().run({"path": image.path}, make_ctx(workspace, slug="other"))


def test_image_links_become_files_only_for_images_in_owner_sessions(workspace: Path) -> None:
    (workspace / "plot.png").write_bytes(samples.png())
    (workspace / "USER.md").write_text("private")
    answer = "Here:\n\n![the plot](plot.png)\n\n![notes](USER.md) and ![web](https://x.org/a.png)"
    text, files = answer_files(answer, [], "r1", workspace, agent="main")
    assert [(f.name, f.caption) for f in files] == [("plot.png", "the plot")]
    assert "plot.png" not in text and "![notes](USER.md)" in text and "https://x.org" in text
    kept, none = answer_files(answer, [], "r1", workspace, agent="main", links=False)
    assert (kept, none) == (answer, [])


def test_a_failed_send_file_sends_nothing(workspace: Path) -> None:
    entries = run_of("c1", {}, "Error: nope", ok=False)
    assert answer_files("ok", entries, "r1", workspace, agent="main") == ("ok", [])


def test_an_image_link_sends_only_this_agents_media(workspace: Path) -> None:
    own = store.store_bytes("main", samples.png(), name="own.png")
    other = store.store_bytes("helper", samples.png(), name="theirs.png")
    answer = f"![mine]({own.path}) ![theirs]({other.path})"
    text, files = answer_files(answer, [], "r1", workspace, agent="main")
    assert [f.name for f in files] == [Path(own.path).name]
    assert text == f"![theirs]({other.path})"
