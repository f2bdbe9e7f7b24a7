"""The reply filter: thinking never delivered, NO_REPLY never delivered, everything else intact."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.replyfilter import ReplyFilter


def run(chunks: list[str]) -> tuple[str, ReplyFilter]:
    f = ReplyFilter()
    out = "".join(f.feed(c) for c in chunks) + f.finish()
    return out, f


@pytest.mark.parametrize(
    ("chunks", "delivered", "silent"),
    [
        (["Hello ", "world"], "Hello world", False),
        (["NO_", "REPLY"], "", True),
        (["  NO_REPLY\n"], "", True),
        (["NO_REPLY", " but more"], "NO_REPLY but more", False),
        (["NO"], "NO", False),
        (["<think>secret plan</think>", "Answer"], "Answer", False),
        (["<thi", "nk>hidden</th", "ink>shown"], "shown", False),
        (["a <", "b"], "a <b", False),
        (["<think>never closed"], "", False),
        (["<think>x</think>NO_REPLY"], "", True),
        (["x < y and y </think> z"], "x < y and y </think> z", False),
    ],
)
def test_filter_table(chunks: list[str], delivered: str, silent: bool) -> None:
    out, f = run(chunks)
    assert out == delivered
    assert f.text == delivered
    assert f.silent is silent


@given(st.text(alphabet=st.characters(blacklist_characters="<"), min_size=1), st.data())
def test_text_without_tags_is_delivered_whole_whatever_the_chunking(
    text: str, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    out, _ = run(chunks)
    if text.strip() == "NO_REPLY":
        assert out == ""
    else:
        assert out == text
