"""Anthropic's prompt cache as its documentation describes it, for the fake Messages API
(tests/fakes/anthropic_server.py, `FakeAnthropic(cache="anthropic")`).

A prompt is a sequence of blocks in the order the API renders them: each tool, each system
block, then each message's content blocks (a string content is one text block). A block with
`cache_control` is a breakpoint (at most 4 in a request: more is a 400). After a request, the
prefix up to each breakpoint is cached. A request reads the longest cached prefix that ends at a
block boundary no further than 20 blocks before one of its breakpoints (the API's lookback), and
writes from there to its last breakpoint; the rest is uncached input. A prefix shorter than the
model's minimum (`min_tokens`: 1,024 for Sonnet and Opus, 2,048 for Haiku) is never cached.
`cache_control` itself is not part of what is compared. Entries do not expire here (the API's
last five minutes from their last use). Tokens are estimated as a block's JSON characters // 4.
"""

import hashlib
import json
import threading
from typing import Any

JSON = dict[str, Any]
MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20


class TooManyBreakpoints(ValueError):
    pass


def _bare(block: object) -> object:
    if isinstance(block, dict):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block


def _marked(block: object) -> bool:
    return isinstance(block, dict) and "cache_control" in block


def blocks(body: JSON) -> list[tuple[str, bool]]:
    """(the block as compared, whether it is a breakpoint), in the API's order."""
    out: list[tuple[str, bool]] = []
    for tool in body.get("tools") or ():
        out.append((json.dumps(["tool", _bare(tool)], sort_keys=True), _marked(tool)))
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or ():
        out.append((json.dumps(["system", _bare(block)], sort_keys=True), _marked(block)))
    for message in body.get("messages") or ():
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or ()
        for n, block in enumerate(parts):
            # a message's first block carries its role: the same text as another role differs
            head = message.get("role") if n == 0 else ""
            out.append((json.dumps([head, _bare(block)], sort_keys=True), _marked(block)))
    return out


def _tokens(block: str) -> int:
    return len(block) // 4


class PromptCache:
    """The cache of one fake server (thread-safe): `usage(body)` bills a request and caches its
    prefixes, as the API does."""

    def __init__(self, min_tokens: int = 0) -> None:
        self.min_tokens = min_tokens
        self._entries: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, body: JSON) -> JSON:
        """`input_tokens`, `cache_read_input_tokens` and `cache_creation_input_tokens` for
        `body`. Raises `TooManyBreakpoints` as the API refuses a fifth breakpoint."""
        found = blocks(body)
        marks = [i for i, (_, marked) in enumerate(found) if marked]
        if len(marks) > MAX_BREAKPOINTS:
            raise TooManyBreakpoints(
                f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {len(marks)}."
            )
        keys: list[str] = []  # keys[i]: the prefix through block i
        totals: list[int] = []  # totals[i]: its tokens
        digest = hashlib.sha256()
        total = 0
        for text, _ in found:
            digest.update(text.encode())
            keys.append(digest.hexdigest())
            total += _tokens(text)
            totals.append(total)
        whole = max(1, total)
        candidates = sorted(
            {i for mark in marks for i in range(max(0, mark - LOOKBACK_BLOCKS), mark + 1)},
            reverse=True,
        )
        with self._lock:
            hit = next((i for i in candidates if keys[i] in self._entries), None)
            read = totals[hit] if hit is not None else 0
            last = marks[-1] if marks else None
            written = 0
            if last is not None and totals[last] >= self.min_tokens and (hit is None or hit < last):
                written = totals[last] - read
            for mark in marks:
                if totals[mark] >= self.min_tokens:
                    self._entries.add(keys[mark])
        return {
            "input_tokens": whole - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
        }
