"""What a search hands the model: the best lines of the candidate chunks, scored by BM25 over
each line and its neighbours, chosen by score with a diversity penalty, shown with their
neighbours within a total character budget, merged per file into cited hits. Pure."""

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memory.markdown import split_lines, tokens

K1 = 1.2
B = 0.75
PREFIX_WEIGHT = 0.5  # a word in a line's "HH:MM Speaker:" prefix counts half
HEADING_WEIGHT = 0.3  # a word of the section heading counts for each line under it, a little
NEIGHBOUR_WEIGHT = 0.5  # a turn and the turns beside it: a question and its answer
FLOOR = 0.25  # lines scoring under this share of the best line are not worth their characters
DIVERSITY = 0.7  # MMR's lambda: relevance against novelty (term overlap with lines chosen)
MERGE_GAP = 8  # lines of one file this close together are one hit
RECENCY_BOOST = 0.1  # at most +10 %: recency breaks near-ties, never beats a clearly better match
MIN_LINE_CHARS = 160  # a long line is cut around its matches to its hit's share, never below
_PREFIX = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\d{1,2}:\d{2}\s+)?(?:\*\*)?[^\s:][^:\n]{0,40}?(?:\*\*)?:\s"
)


@dataclass(frozen=True, slots=True)
class ChunkLines:
    """A candidate chunk: its file, first line number, lines and their indexed terms."""

    path: str
    date: dt.date | None
    start_line: int
    text: str
    search_text: str
    boost: float = 0.0  # hybrid search: the chunk's cosine similarity to the query, 0..1


@dataclass(slots=True)
class Hit:
    """Lines of one file shown to the model: `text` is their excerpts, `start_line` to
    `end_line` the range they come from (1-based, inclusive)."""

    path: str
    start_line: int
    end_line: int
    date: dt.date | None
    score: float
    text: str
    lines: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "date": self.date.isoformat() if self.date else None,
            "score": round(self.score, 4),
            "text": self.text,
        }


@dataclass(slots=True)
class _Line:
    path: str
    number: int
    text: str
    terms: list[str]  # its indexed terms, left empty when it holds no query term
    length: int  # how many terms it has
    prefix: int  # how many of `terms` are the line's speaker/time prefix (-1: not yet known)
    heading: frozenset[str]
    date: dt.date | None
    boost: float = 0.0
    score: float = 0.0


def _prefix_words(line: str) -> int:
    match = _PREFIX.match(line)
    if match is None or len(match.group(0).split()) > 6:
        return 0
    return len(tokens(match.group(0)))


def _collect(chunks: Sequence[ChunkLines], wanted: set[str]) -> dict[str, dict[int, _Line]]:
    """Each file's candidate lines by number, once each however many chunks repeat them. A
    line too long for one chunk comes in pieces that all cite it: the piece that matches most
    of `wanted` stands for it."""
    files: dict[str, dict[int, _Line]] = {}
    for chunk in chunks:
        heading_row, *rows = chunk.search_text.split("\n")
        heading = frozenset(heading_row.split())
        lines = files.setdefault(chunk.path, {})
        for offset, (text, row) in enumerate(zip(split_lines(chunk.text), rows, strict=False)):
            number = chunk.start_line + offset
            # Splitting every row is most of the cost: only rows holding a query term need it.
            terms = row.split() if any(w in row for w in wanted) else []
            known = lines.get(number)
            if (
                known is not None
                and len(rows) == 1
                and len(wanted.intersection(terms)) > len(wanted.intersection(known.terms))
            ):
                known.text, known.terms, known.prefix = text, terms, -1
            if known is not None:
                known.boost = max(known.boost, chunk.boost)
            elif text.strip():
                length = row.count(" ") + 1 if row else 0
                lines[number] = _Line(
                    chunk.path, number, text, terms, length, -1, heading, chunk.date, chunk.boost
                )
    return files


def _weights(line: _Line, query: Sequence[str]) -> list[float]:
    """Per query term, its weighted frequency in the line (the caller knows one matches)."""
    if line.prefix < 0:
        line.prefix = _prefix_words(line.text)
    out = []
    for term in query:
        body = prefix = 0
        for i, t in enumerate(line.terms):
            if t == term:
                if i < line.prefix:
                    prefix += 1
                else:
                    body += 1
        heading = HEADING_WEIGHT if term in line.heading else 0.0
        out.append(body + PREFIX_WEIGHT * prefix + heading)
    return out


def score_lines(
    files: Mapping[str, Mapping[int, _Line]],
    query: Sequence[str],
    idf: Mapping[str, float],
    recency: Mapping[str, float],
    vector_weight: float = 0.0,
) -> None:
    """Set each line's score: BM25 over the line with its neighbours at NEIGHBOUR_WEIGHT, plus
    its chunk's vector boost (scaled to the best keyword score), times the file's recency."""
    wanted = set(query)
    count = total_length = 0
    span = 1 + 2 * NEIGHBOUR_WEIGHT
    for lines in files.values():
        count += len(lines)
        total_length += sum(line.length for line in lines.values())
    average = (total_length / count if count else 1.0) or 1.0
    for lines in files.values():
        # Only lines that match, and lines between two that do, get a score.
        matched = {
            n: _weights(line, query)
            for n, line in lines.items()
            if not (wanted.isdisjoint(line.terms) and wanted.isdisjoint(line.heading))
        }
        scored = set(matched) | {n + 1 for n in matched if n + 2 in matched}
        for n in scored:
            line = lines.get(n)
            if line is None:
                continue
            here = matched.get(n)
            before, after = matched.get(n - 1), matched.get(n + 1)
            neighbours = [w for w in (before, after) if w]
            length = line.length + NEIGHBOUR_WEIGHT * sum(
                lines[m].length for m in (n - 1, n + 1) if m in lines
            )
            norm = K1 * (1 - B + B * length / (average * span))
            total = 0.0
            for i, term in enumerate(query):
                tf = (here[i] if here else 0.0) + NEIGHBOUR_WEIGHT * sum(w[i] for w in neighbours)
                if tf:
                    total += idf.get(term, 0.0) * tf * (K1 + 1) / (tf + norm)
            line.score = total
    if vector_weight > 0:
        top = max((line.score for lines in files.values() for line in lines.values()), default=0)
        for lines in files.values():
            for line in lines.values():
                line.score = (1 - vector_weight) * line.score + vector_weight * line.boost * (
                    top or 1.0
                )
    for path, lines in files.items():
        for line in lines.values():
            line.score *= recency.get(path, 1.0)


def recency_factor(date: dt.date | None, today: dt.date, half_life_days: float) -> float:
    if date is None or half_life_days <= 0:
        return 1.0
    age = max(0, (today - date).days)
    return 1 + RECENCY_BOOST * float(0.5 ** (age / half_life_days))


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _cut(text: str, width: int, query: Sequence[str]) -> str:
    """A long line cut to `width` characters around its first query word."""
    if len(text) <= width:
        return text
    folded = text.lower()
    first = min((p for p in (folded.find(w[:4]) for w in query) if p >= 0), default=0)
    start = max(0, min(first - width // 4, len(text) - width))
    piece = text[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


@dataclass(slots=True)
class _Group:
    path: str
    lines: set[int]
    score: float
    cost: int
    widths: dict[int, int] = field(default_factory=dict)  # lines cut to fit their share


def select(
    chunks: Sequence[ChunkLines],
    query: Sequence[str],
    idf: Mapping[str, float],
    *,
    max_hits: int,
    budget: int,
    recency: Mapping[str, float] | None = None,
    vector_weight: float = 0.0,
) -> list[Hit]:
    """The hits to show for `query` (stemmed terms), best first, their text within `budget`
    characters in total (citation lines included), at most `max_hits` of them."""
    files = _collect(chunks, set(query))
    score_lines(files, query, idf, recency or {}, vector_weight)
    ranked = sorted(
        (line for lines in files.values() for line in lines.values() if line.score > 0),
        key=lambda line: (-line.score, line.path, line.number),
    )
    if not ranked:
        return []
    floor = ranked[0].score * FLOOR
    pool = [line for line in ranked if line.score >= floor][: max(24, max_hits * 5)]
    best = ranked[0].score
    groups: list[_Group] = []
    shown: set[tuple[str, int]] = set()
    seen_text: set[str] = set()
    term_sets = [set(line.terms) for line in pool]
    overlap = [0.0] * len(pool)  # each pool line's greatest similarity to a line chosen
    left = budget
    per_hit = max(MIN_LINE_CHARS, budget // max(1, min(max_hits, 3)))
    while pool and left > 0:
        at = max(
            range(len(pool)),
            key=lambda i: DIVERSITY * pool[i].score / best - (1 - DIVERSITY) * overlap[i],
        )
        pick, pick_terms = pool.pop(at), term_sets.pop(at)
        overlap.pop(at)
        if (pick.path, pick.number) in shown:
            continue
        lines = files[pick.path]
        wanted = [n for n in (pick.number - 1, pick.number, pick.number + 1) if n in lines]
        group = next(
            (
                g
                for g in groups
                if g.path == pick.path
                and min(abs(n - m) for n in g.lines for m in wanted) <= MERGE_GAP
            ),
            None,
        )
        if group is None and len(groups) >= max_hits:
            continue
        header = 0 if group is not None else len(pick.path) + 16
        new = [
            n
            for n in wanted
            if (pick.path, n) not in shown and " ".join(lines[n].text.split()) not in seen_text
        ]
        if not new:
            continue
        room = min(left - header, per_hit - (group.cost if group else header))
        cost = sum(len(lines[n].text) + 1 for n in new)
        cut = 0
        if cost > room:  # the matching line alone, cut if it must be
            if pick.number not in new or room < min(MIN_LINE_CHARS, len(pick.text)):
                continue
            new, cost = [pick.number], min(len(pick.text) + 1, room)
            cut = cost - 1
        if group is None:
            group = _Group(pick.path, set(), pick.score, header)
            groups.append(group)
            left -= header
        if cut:
            group.widths[pick.number] = cut
        for n in new:
            shown.add((pick.path, n))
            seen_text.add(" ".join(lines[n].text.split()))
            group.lines.add(n)
        group.cost += cost
        left -= cost
        overlap = [
            max(o, _similarity(t, pick_terms)) for o, t in zip(overlap, term_sets, strict=True)
        ]
    return [_hit(g, files[g.path], query) for g in sorted(groups, key=lambda g: -g.score)]


def _hit(group: _Group, lines: Mapping[int, _Line], query: Sequence[str]) -> Hit:
    numbers = sorted(group.lines)
    parts: list[str] = []
    for i, n in enumerate(numbers):
        if i and n != numbers[i - 1] + 1:
            parts.append("…")
        text = lines[n].text.strip()
        parts.append(_cut(text, group.widths.get(n, len(text)), query))
    first = lines[numbers[0]]
    return Hit(
        group.path, numbers[0], numbers[-1], first.date, group.score, "\n".join(parts), numbers
    )


def render(hits: Sequence[Hit]) -> str:
    """The compact text the model reads: per hit, `path:start-end` then its lines."""
    return "\n\n".join(f"{h.path}:{h.start_line}-{h.end_line}\n{h.text}" for h in hits)


def idf_of(total: int, frequencies: Mapping[str, int]) -> dict[str, float]:
    """BM25's inverse document frequency of each term, from chunk counts."""
    n = max(total, 1)
    return {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequencies.items()}
