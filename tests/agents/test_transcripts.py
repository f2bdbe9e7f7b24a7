"""Transcripts are append-only JSONL that survive a torn last line."""

import os
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from agents.transcripts import append_entries, make_entry, read_entries


def test_entries_round_trip_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "s" / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="héllo\nthere", run="r1")])
    append_entries(path, [make_entry("message", role="assistant", content="hi", run="r1")])
    entries = read_entries(path)
    assert [(e["role"], e["content"]) for e in entries] == [
        ("user", "héllo\nthere"),
        ("assistant", "hi"),
    ]
    assert len(path.read_text().splitlines()) == 2


def test_a_torn_last_line_is_skipped_and_the_next_entry_survives(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="kept")])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"type":"message","role":"assis')  # a crash mid-write
    assert [e["content"] for e in read_entries(path)] == ["kept"]
    append_entries(path, [make_entry("message", role="user", content="after crash")])
    assert [e["content"] for e in read_entries(path)] == ["kept", "after crash"]


def test_missing_transcript_reads_empty(tmp_path: Path) -> None:
    assert read_entries(tmp_path / "nope.jsonl") == []


def test_existing_lines_are_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="one")])
    before = path.read_bytes()
    append_entries(path, [make_entry("message", role="user", content="two")])
    assert path.read_bytes().startswith(before)


def test_an_oversized_entry_is_cut_with_a_notice(tmp_path: Path, settings: Settings) -> None:
    settings.OPENCLAW_MAX_TRANSCRIPT_ENTRY_CHARS = 10
    path = tmp_path / "t.jsonl"
    append_entries(path, [make_entry("message", role="assistant", content="x" * 25)])
    [entry] = read_entries(path)
    assert entry["content"].startswith("x" * 10)
    assert "15 characters not kept" in entry["content"]
    assert entry["meta"]["truncated_chars"] == 15


def _contents(path: Path) -> list[str]:
    return [e.get("content", "") for e in read_entries(path)]


def test_reads_after_appends_see_exactly_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    for i in range(5):
        append_entries(path, [make_entry("message", role="user", content=f"m{i}")])
        assert _contents(path) == [f"m{j}" for j in range(i + 1)]
    first = read_entries(path)
    first.append(make_entry("message", content="a caller's own list"))  # a copy each time
    assert len(read_entries(path)) == 5


def test_a_transcript_replaced_or_rewritten_is_read_again_in_full(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="aaaa")])
    append_entries(path, [make_entry("message", role="user", content="bbbb")])
    assert _contents(path) == ["aaaa", "bbbb"]
    # Rewritten in place with the same length (same inode, same size, other bytes).
    path.write_bytes(path.read_bytes().replace(b"bbbb", b"cccc"))
    assert _contents(path) == ["aaaa", "cccc"]
    # Replaced by another file (a new inode), longer than before.
    other = tmp_path / "other.jsonl"
    for text in ("x", "y", "z"):
        append_entries(other, [make_entry("message", role="user", content=text)])
    other.replace(path)
    assert _contents(path) == ["x", "y", "z"]
    # Cut shorter.
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")
    assert _contents(path) == ["x"]


def test_a_line_still_being_written_is_read_once_it_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="one")])
    line = b'{"type":"message","role":"user","content":"two"}\n'
    with open(path, "ab") as handle:
        handle.write(line[:20])
        handle.flush()
        assert _contents(path) == ["one"]
        handle.write(line[20:])
    assert _contents(path) == ["one", "two"]


def test_unreadable_lines_keep_their_numbers_when_read_in_parts(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="one")])
    assert _contents(path) == ["one"]
    with open(path, "ab") as handle:
        handle.write(b"not json\n")
    append_entries(path, [make_entry("message", role="user", content="three")])
    assert _contents(path) == ["one", "three"]
    skipped: list[int] = []
    read_entries(path, skipped)
    assert skipped == [2]


def test_a_turn_touches_the_file_with_few_system_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each system call in a worker thread costs a GIL hand-off with the busy event loop
    (bench/README.md): appending after a read does not read the file's end back, and a read
    after an append reads only what was appended, in one call."""
    path = tmp_path / "s" / "t.jsonl"
    append_entries(path, [make_entry("message", role="user", content="one")])
    read_entries(path)
    reads: list[tuple[int, int]] = []
    real_pread = os.pread

    def pread(fd: int, size: int, offset: int) -> bytes:
        reads.append((size, offset))
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    before = path.stat().st_size
    append_entries(path, [make_entry("message", role="assistant", content="two")])
    assert reads == []  # the last read ended on a whole line: no need to look
    assert _contents(path) == ["one", "two"]
    assert len(reads) == 1 and reads[0][1] < before  # the check bytes and the new line at once
