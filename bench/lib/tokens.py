"""Token counts for the benchmarks: the o200k_base BPE when `bpe-openai` is installed (it ships
its vocabularies, nothing is downloaded), otherwise the usual 4-bytes-a-token estimate."""

from collections.abc import Callable
from functools import cache


@cache
def _counter() -> tuple[str, Callable[[str], int]]:
    try:
        import bpe_openai  # type: ignore[import-untyped]  # ships no type hints
    except ImportError:
        return "estimate (UTF-8 bytes / 4)", lambda text: len(text.encode("utf-8")) // 4 + 1
    encoding = bpe_openai.get_encoding("o200k_base")
    return "o200k_base (bpe-openai)", lambda text: len(encoding.encode_ordinary(text))


def tokenizer_name() -> str:
    return _counter()[0]


def count_tokens(text: str) -> int:
    return _counter()[1](text) if text else 0
