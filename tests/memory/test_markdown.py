"""Chunking keeps line ranges exact and covers every line; tokens fold case and accents;
the admin preview never lets HTML or script links through."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory.markdown import (
    CHARS_PER_TOKEN,
    chunk_markdown,
    line_terms,
    render_html,
    search_text,
    split_lines,
    terms,
    tokens,
)

SECTIONS = "# Title\n\nintro line\n\n## A\n\n- one\n- two\n\n## B\n\ntext b\n"
FENCE = "para\n\n```\ncode\n\nmore code\n```\n\nafter\n"


@pytest.mark.parametrize(
    ("text", "max_tokens", "overlap", "ranges"),
    [
        pytest.param("", 400, 80, [], id="empty"),
        pytest.param("\n  \n\n", 400, 80, [], id="blank-only"),
        pytest.param("one line", 400, 80, [(1, 1)], id="one-line"),
        pytest.param(SECTIONS, 400, 80, [(1, 12)], id="small-file-one-chunk"),
        # 8 tokens = 32 chars: a heading starts a new chunk once the current one is half full,
        # and no overlap is carried across a section boundary.
        pytest.param(SECTIONS, 8, 3, [(1, 3), (5, 8), (10, 12)], id="break-at-headings"),
        pytest.param(FENCE, 6, 0, [(1, 1), (3, 7), (9, 9)], id="fence-kept-whole"),
        pytest.param(
            "a\nb\nc\nd\ne\nf",
            1,
            1,
            [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)],
            id="overlap-one-line",
        ),
        pytest.param("x" * 10, 1, 0, [(1, 1), (1, 1), (1, 1)], id="long-line-pieces"),
        pytest.param("a\r\nb\r\n", 400, 80, [(1, 2)], id="crlf"),
    ],
)
def test_chunk_ranges(
    text: str, max_tokens: int, overlap: int, ranges: list[tuple[int, int]]
) -> None:
    assert [(c.start_line, c.end_line) for c in chunk_markdown(text, max_tokens, overlap)] == ranges


def test_chunk_carries_section_heading() -> None:
    chunks = chunk_markdown(SECTIONS, 8, 3)
    assert [c.heading for c in chunks] == ["Title", "A", "B"]


def test_long_line_pieces_rebuild_the_line() -> None:
    line = "word " * 500
    pieces = chunk_markdown(f"before\n{line}\nafter", 50, 10)
    cut = [c for c in pieces if c.start_line == 2]
    assert "".join(c.text for c in cut).strip() == line.strip()
    assert all(len(c.text) <= 50 * CHARS_PER_TOKEN for c in pieces)


_line = st.one_of(
    st.just(""),
    st.just("```"),
    st.sampled_from(["# Head", "## Sub", "- item", "1. step", "> quote"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=120),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_line, max_size=60), st.integers(1, 80), st.integers(0, 40))
def test_chunks_cover_every_line_with_exact_text(
    lines: list[str], max_tokens: int, overlap: int
) -> None:
    text = "\n".join(lines)
    file_lines = split_lines(text)
    chunks = chunk_markdown(text, max_tokens, overlap)
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    assert {i + 1 for i, line in enumerate(file_lines) if line.strip()} <= covered
    starts = [c.start_line for c in chunks]
    assert starts == sorted(starts)
    for c in chunks:
        assert 1 <= c.start_line <= c.end_line <= len(file_lines)
        assert c.text.strip()
        assert len(c.text) <= max_tokens * CHARS_PER_TOKEN
        exact = "\n".join(file_lines[c.start_line - 1 : c.end_line])
        assert c.text == exact or (c.start_line == c.end_line and c.text in exact)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café CRÈME", ["cafe", "creme"]),
        ("Straße", ["strasse"]),
        ("foo.bar_baz-qux", ["foo", "bar", "baz", "qux"]),
        ("東京 タワー", ["東京", "タワー"]),
        ('v2.0 (beta) AND "x"', ["v2", "0", "beta", "and", "x"]),
        ("a" * 65 + " ok", ["ok"]),
        ("!!! ??? ...", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_split_lines_counts_like_an_editor() -> None:
    assert split_lines("a\r\nb\n\nc\n") == ["a", "b", "", "c"]
    assert split_lines("a\u2028b") == ["a\u2028b"]  # only LF ends a line


@pytest.mark.parametrize(
    ("markdown", "present", "absent"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;", "<script>"),
        ("[x](javascript:alert(1))", "javascript:alert", 'href="javascript'),
        ('<img src=x onerror="alert(1)">', "&lt;img", "<img"),
        ("**bold** and `code`", "<strong>bold</strong>", "<script"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<table>", "<script"),
    ],
)
def test_preview_html_is_safe(markdown: str, present: str, absent: str) -> None:
    html = render_html(markdown)
    assert present in html
    assert absent not in html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Painting, painted, paints", ["paint", "paint", "paint"]),
        ("The adoption agencies", ["the", "adopt", "agenc"]),
        ("Café SPORTS", ["cafe", "sport"]),
        ("2023-05-08 13:56", ["2023", "05", "08", "13", "56"]),
    ],
)
def test_terms_are_folded_english_stems(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


def test_search_text_keeps_one_line_of_terms_per_line() -> None:
    indexed = search_text("## 09:10 Kayaks", ["Planned the kayaking trip.", "", "Ana: booked"])
    assert indexed == "09 10 kayak\nplan the kayak trip\n\nana book"
    assert line_terms(indexed) == (
        ["09", "10", "kayak"],
        [["plan", "the", "kayak", "trip"], [], ["ana", "book"]],
    )
