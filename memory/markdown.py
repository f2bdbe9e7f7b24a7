"""Pure Markdown helpers: line splitting, search tokens and stemmed terms, chunking with line
ranges, safe HTML.

No I/O and no ORM here: everything is a function of its arguments, so it is table-tested.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import Stemmer
from markdown_it import MarkdownIt

CHARS_PER_TOKEN = 4  # a cheap, tokenizer-free estimate; good enough for sizing chunks
CHUNK_TOKENS = 400
OVERLAP_TOKENS = 80
MAX_TOKEN_CHARS = 64  # longer "words" are noise (hashes, base64) and PostgreSQL caps lexemes

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines `start_line`..`end_line` (1-based, inclusive) of a file, and their text."""

    start_line: int
    end_line: int
    text: str
    heading: str


def split_lines(text: str) -> list[str]:
    """Lines as editors number them: split on LF only, a trailing CR dropped (CRLF files)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def normalise(text: str) -> str:
    """Case- and accent-folded text, so "Café" and "cafe" match on every database."""
    if text.isascii():  # most notes: nothing to decompose, and 20x faster
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Search tokens: runs of Unicode letters and digits of the normalised text.

    Both backends index the space-joined tokens, so SQLite and PostgreSQL see the same words.
    """
    return [t for t in _WORD.findall(normalise(text)) if len(t) <= MAX_TOKEN_CHARS]


@cache
def _stemmer() -> Stemmer.Stemmer:
    # Snowball's English (Porter 2) stemmer; the C library keeps its own cache of stems.
    return Stemmer.Stemmer("english")


def stems(words: list[str]) -> list[str]:
    """Search terms of `tokens`: English stems, so "painting", "painted" and "paints" match."""
    return list(_stemmer().stemWords(words)) if words else []


def terms(text: str) -> list[str]:
    """The stemmed search terms of `text` (what both backends index)."""
    return stems(tokens(text))


def search_text(heading: str, lines: list[str]) -> str:
    """What a chunk is indexed as: its heading's terms on the first line, then each of its
    lines' terms on a line of its own, so line i + 1 of this text is line i of the chunk."""
    return "\n".join(" ".join(terms(line)) for line in [heading, *lines])


def line_terms(indexed: str) -> tuple[list[str], list[list[str]]]:
    """`search_text`'s output read back: the heading's terms and each line's terms."""
    rows = [row.split() for row in indexed.split("\n")]
    return (rows[0], rows[1:]) if rows else ([], [])


def _blocks(lines: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, heading) index ranges of Markdown blocks: paragraphs, lists and fenced code
    separated by blank lines; a heading always starts a block. Blank lines belong to no block."""
    blocks: list[tuple[int, int, str]] = []
    heading = ""
    start: int | None = None
    fence = ""
    for i, line in enumerate(lines):
        if fence:
            if line.strip().startswith(fence):
                fence = ""
            continue
        match = _HEADING.match(line)
        if match or not line.strip():
            if start is not None:
                blocks.append((start, i - 1, heading))
                start = None
            if match:
                heading = match.group(2)
                start = i
            continue
        if start is None:
            start = i
        fence_match = _FENCE.match(line)
        if fence_match:
            fence = fence_match.group(1)
    if start is not None:
        blocks.append((start, len(lines) - 1, heading))
    return blocks


def chunk_markdown(
    text: str, max_tokens: int = CHUNK_TOKENS, overlap_tokens: int = OVERLAP_TOKENS
) -> list[Chunk]:
    """Split Markdown into chunks of about `max_tokens`, breaking between blocks (and before
    headings when a chunk is half full), repeating up to `overlap_tokens` of trailing lines
    in the next chunk within a section. A line longer than a chunk is cut into pieces that all
    cite that line. Every non-blank line is in at least one chunk."""
    limit = max(1, max_tokens) * CHARS_PER_TOKEN
    overlap = max(0, overlap_tokens) * CHARS_PER_TOKEN
    lines = split_lines(text)
    chunks: list[Chunk] = []
    current: list[int] = []  # line indexes of the chunk being built
    size = 0
    heading = ""

    def emit() -> None:
        end = len(current)
        while end and not lines[current[end - 1]].strip():
            end -= 1
        if end:
            body = "\n".join(lines[i] for i in current[:end])
            chunks.append(Chunk(current[0] + 1, current[end - 1] + 1, body, heading))

    for start, end, block_heading in _blocks(lines):
        block_size = sum(len(lines[i]) + 1 for i in range(start, end + 1))
        starts_section = start < len(lines) and bool(_HEADING.match(lines[start]))
        if current and (size + block_size > limit or (starts_section and size >= limit // 2)):
            emit()
            carried = [] if starts_section else _tail(lines, current, overlap, limit)
            current[:] = carried
            size = sum(len(lines[i]) + 1 for i in current)
        if not current:
            heading = block_heading
        elif current[-1] < start - 1:
            size += start - 1 - current[-1]  # blank separators are kept: the text is exact
            current.extend(range(current[-1] + 1, start))
        for i in range(start, end + 1):
            line_size = len(lines[i]) + 1
            if line_size > limit:  # one very long line: flush, then cut it into pieces
                emit()
                chunks.extend(
                    Chunk(i + 1, i + 1, lines[i][p : p + limit], block_heading)
                    for p in range(0, len(lines[i]), limit)
                    if lines[i][p : p + limit].strip()
                )
                current[:] = []
                size = 0
                heading = block_heading
                continue
            if current and size + line_size > limit:
                emit()
                current[:] = _tail(lines, current, overlap, limit - line_size)
                size = sum(len(lines[j]) + 1 for j in current)
            if not current:
                heading = block_heading
            current.append(i)
            size += line_size
    emit()
    return chunks


def _tail(lines: list[str], current: list[int], overlap: int, room: int) -> list[int]:
    """The trailing lines of `current` worth at most `overlap` chars (and fitting in `room`),
    never the whole chunk, so every chunk makes progress."""
    budget = min(overlap, room)
    taken: list[int] = []
    for i in reversed(current[1:]):
        budget -= len(lines[i]) + 1
        if budget < 0:
            break
        taken.insert(0, i)
    while taken and not lines[taken[0]].strip():
        taken.pop(0)
    return taken


@cache
def _renderer() -> MarkdownIt:
    # Raw HTML is off, so `<script>` is shown as text; markdown-it refuses javascript:,
    # vbscript:, file: and data: (except images) links by itself.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_html(text: str) -> str:
    """Markdown as HTML that is safe to show in the admin (no raw HTML, no script links)."""
    return str(_renderer().render(text))
