"""Memory paths come only from the agent and a date; writes are atomic, even across a crash."""

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from memory import files

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("MEMORY.md", None),
        ("memory/2024-02-29.md", dt.date(2024, 2, 29)),
        ("memory/1999-12-31.md", dt.date(1999, 12, 31)),
    ],
)
def test_parse_relpath_accepts_memory_files(path: str, expected: dt.date | None) -> None:
    assert files.parse_relpath(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "",
        "memory.md",
        "./MEMORY.md",
        "/MEMORY.md",
        "../other/MEMORY.md",
        "memory/../MEMORY.md",
        "memory/2023-02-29.md",  # not a real date
        "memory/2024-1-01.md",
        "memory/2024-01-01.md/",
        "memory//2024-01-01.md",
        "memory/2024-01-01.txt",
        "/etc/passwd",
        "AGENTS.md",
        "memory/2024-01-01.md\x00",
        "memory/2024-01-01.md\n",
    ],
)
def test_parse_relpath_refuses_everything_else(path: str) -> None:
    with pytest.raises(files.UnsafePath, match="not a memory file"):
        files.parse_relpath(path)


def test_resolve_refuses_symlink_out_of_workspace(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    (workspace / "memory").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.md").write_text("secret")
    (workspace / "MEMORY.md").symlink_to(outside / "secret.md")
    with pytest.raises(files.UnsafePath, match="outside the workspace"):
        files.resolve(workspace, None)
    (workspace / "memory" / "2024-01-01.md").symlink_to(outside / "secret.md")
    assert files.daily_log_dates(workspace) == {}


def test_write_atomic_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "MEMORY.md"
    target.write_text("old\n")
    target.chmod(0o600)
    state = files.write_atomic(target, "new ✓\n")
    assert target.read_text(encoding="utf-8") == "new ✓\n"
    assert state.content_hash == files.content_hash("new ✓\n")
    assert state.size == len("new ✓\n".encode())
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["MEMORY.md"]


def test_failed_rename_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "MEMORY.md"
    target.write_text("old\n")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["MEMORY.md"]


def test_crash_between_temp_file_and_rename_leaves_old_file_intact(tmp_path: Path) -> None:
    """A process killed after writing and fsyncing the temp file, before the rename."""
    (tmp_path / "memory").mkdir()
    target = tmp_path / "memory" / "2024-05-01.md"
    target.write_text("old log\n")
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        import django
        django.setup()
        from pathlib import Path
        from memory import files
        os.replace = lambda src, dst: os._exit(9)  # the power goes out here
        files.write_atomic(Path({str(target)!r}), "new log, never visible\\n")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr.decode()
    assert target.read_text() == "old log\n"
    leftovers = [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1
    assert leftovers[0].read_text() == "new log, never visible\n"
    # Readers ignore the leftover; a later scan removes it once it is old enough.
    assert list(files.daily_log_dates(tmp_path)) == [dt.date(2024, 5, 1)]
    files.remove_stale_temp_files(tmp_path, older_than=-1)
    assert [p.name for p in target.parent.iterdir()] == ["2024-05-01.md"]


def test_daily_log_dates_skips_other_names(tmp_path: Path) -> None:
    folder = tmp_path / "memory"
    folder.mkdir()
    for name in ["2024-01-02.md", "2024-02-30.md", "notes.md", "2024-01-03.md.bak", "x.md"]:
        (folder / name).write_text("x")
    (folder / "2024-01-04.md").mkdir()
    assert list(files.daily_log_dates(tmp_path)) == [dt.date(2024, 1, 2)]
