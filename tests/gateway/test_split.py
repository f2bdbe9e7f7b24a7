"""Splitting long answers for platforms: limits kept, code fences intact, nothing lost."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.adapters.base import split_text


def test_short_text_is_one_chunk() -> None:
    assert split_text("hello", 10) == ["hello"]
    assert split_text("", 10) == []


def test_splits_at_paragraphs_and_lines_within_the_limit() -> None:
    text = "\n\n".join(f"paragraph {i} " + "word " * 20 for i in range(10))
    chunks = split_text(text, 300)
    assert all(len(c) <= 300 for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_a_code_block_cut_in_two_is_closed_and_reopened() -> None:
    code = "```python\n" + "".join(f"print({i})\n" for i in range(60)) + "```\nafter"
    chunks = split_text(code, 200)
    assert len(chunks) > 1
    for chunk in chunks[:-1]:
        assert chunk.count("```") % 2 == 0, chunk
    assert all(len(c) <= 200 for c in chunks)
    assert chunks[1].startswith("```python\n")
    body = "".join(c.replace("```python\n", "").replace("\n```", "\n") for c in chunks)
    for i in range(60):
        assert f"print({i})" in body


def test_a_long_line_without_spaces_is_cut_hard() -> None:
    chunks = split_text("x" * 1000, 300)
    assert "".join(chunks) == "x" * 1000
    assert all(len(c) <= 300 for c in chunks)


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=3000),
    st.integers(60, 500),
)
def test_every_chunk_fits_and_no_word_is_lost(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(len(c) <= limit for c in chunks)
    if "```" not in text and "~~~" not in text:
        assert "".join(text.split()) == "".join("".join(chunks).split())


@pytest.mark.parametrize("limit", [4096, 3000, 40000])
def test_platform_limits(limit: int) -> None:
    text = "a " * limit
    assert all(len(c) <= limit for c in split_text(text, limit))
