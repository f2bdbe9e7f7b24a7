"""Transcripts are append-only JSONL that survive a torn last line."""

from pathlib import Path

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
