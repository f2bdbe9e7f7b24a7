"""Memory search, one API for SQLite and PostgreSQL: keyword ranking (FTS5 bm25 / ts_rank),
optionally merged with embedding similarity and boosted for recent daily logs."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from agents.models import Agent
from memory import embeddings, fts
from memory.markdown import snippet, tokens
from memory.models import MemoryChunk
from memory.sync import agent_today, resolve_agent

MAX_RESULTS = 50
MAX_QUERY_WORDS = 12
# Dropped from queries (never from the index) so "what did we say about the boat" is about
# the boat, and does not rank (and scan) every chunk that contains "the".
_STOP_WORDS = (
    "a about an and are as at be but by did do does for from had has have he her his how i if "
    "in into is it its me my no not of on or our she so than that the their them then there "
    "these they this to was we were what when where which who why will with you your"
)
STOP_WORDS = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    start_line: int
    end_line: int
    date: dt.date | None
    score: float
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "date": self.date.isoformat() if self.date else None,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    hits: list[Hit] = field(default_factory=list)
    note: str = ""  # why the result is empty, or what part of the query was ignored


def query_words(query: str) -> list[str]:
    """The words searched for: tokens in order, deduplicated, stop words dropped unless the
    query has nothing else, at most MAX_QUERY_WORDS."""
    words = list(dict.fromkeys(tokens(query)))
    content = [w for w in words if w not in STOP_WORDS]
    return (content or words)[:MAX_QUERY_WORDS]


def search(
    agent_slug: Agent | str,
    query: str,
    max_results: int = 6,
    *,
    query_vector: list[float] | None = None,
    recency_half_life_days: float | None = None,
    today: dt.date | None = None,
) -> SearchResult:
    """The agent's memory chunks that best match `query`, best first.

    Never raises for odd input: an empty or word-less query gives an empty result whose
    `note` says why. `query_vector` (from `embeddings.embed_query`) turns on hybrid ranking;
    `recency_half_life_days` (default: setting) boosts daily logs up to 2x when they are new.
    Raises `agents.services.NotFound` for an unknown agent.
    """
    agent = resolve_agent(agent_slug)
    max_results = max(1, min(MAX_RESULTS, int(max_results)))
    if not query.strip():
        return SearchResult(query, note="The query is empty: give a few words to look for.")
    words = query_words(query)
    if not words:
        return SearchResult(query, note="The query has no words to search for.")
    half_life = (
        settings.OPENCLAW_MEMORY_RECENCY_HALF_LIFE_DAYS
        if recency_half_life_days is None
        else recency_half_life_days
    )
    # Re-ranking (recency, vectors) needs candidates beyond the keyword top hits.
    reranked = half_life > 0 or query_vector is not None
    pool = max(30, max_results * 5) if reranked else max_results
    scores = dict(fts.keyword_scores(agent.pk, words, pool))
    if query_vector is not None:
        scores = _merge(scores, embeddings.vector_scores(agent.pk, query_vector, pool))
    chunks = MemoryChunk.objects.in_bulk(list(scores))
    if half_life > 0:
        today = today or agent_today(agent)
        for cid, chunk in chunks.items():
            if chunk.date is not None:
                age = max(0, (today - chunk.date).days)
                scores[cid] *= 1 + 0.5 ** (age / half_life)
    ranked = sorted(chunks, key=lambda cid: (-scores[cid], cid))[:max_results]
    wanted = set(words)
    hits = [
        Hit(
            path=chunks[cid].path,
            start_line=chunks[cid].start_line,
            end_line=chunks[cid].end_line,
            date=chunks[cid].date,
            score=scores[cid],
            snippet=snippet(chunks[cid].text, wanted),
        )
        for cid in ranked
    ]
    notes = []
    if len(dict.fromkeys(tokens(query))) > MAX_QUERY_WORDS:
        notes.append(f"Only the first {MAX_QUERY_WORDS} words were searched.")
    if not hits:
        notes.append("No memory matches these words.")
    return SearchResult(query, hits, " ".join(notes))


def _merge(keyword: dict[int, float], vector: dict[int, float]) -> dict[int, float]:
    """Weighted sum of the keyword score (scaled to 0..1 by the best one) and the cosine."""
    weight = min(1.0, max(0.0, settings.OPENCLAW_MEMORY_VECTOR_WEIGHT))
    top = max(keyword.values(), default=0.0) or 1.0
    return {
        cid: (1 - weight) * keyword.get(cid, 0.0) / top + weight * max(0.0, vector.get(cid, 0.0))
        for cid in keyword.keys() | vector.keys()
    }
