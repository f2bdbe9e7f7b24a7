"""Workspace files: MEMORY.md is never a bootstrap file; changes on disk are seen at once."""

import os
from pathlib import Path

from agents.workspace import create_workspace, read_bootstrap_files


def test_memory_is_not_a_bootstrap_file_so_groups_never_see_it(tmp_path: Path) -> None:
    create_workspace(tmp_path, agent_name="Main")
    (tmp_path / "MEMORY.md").write_text("secret working memory")
    names = [f.name for f in read_bootstrap_files(tmp_path)]
    assert names == ["AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md"]
    assert all("secret working memory" not in f.content for f in read_bootstrap_files(tmp_path))


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    (tmp_path / "USER.md").write_text("likes tea")
    assert read_bootstrap_files(tmp_path)[0].content == "likes tea"
    (tmp_path / "USER.md").write_text("likes coffee")
    stat = (tmp_path / "USER.md").stat()
    os.utime(tmp_path / "USER.md", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert read_bootstrap_files(tmp_path)[0].content == "likes coffee"
    (tmp_path / "USER.md").unlink()
    assert read_bootstrap_files(tmp_path) == []
