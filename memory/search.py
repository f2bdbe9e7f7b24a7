"""Memory search, one API for SQLite and PostgreSQL: the full-text index (FTS5 bm25 / ts_rank
postings) picks candidate chunks, optionally merged with embedding similarity; memory.excerpts
then scores their lines and picks what the model is shown, within a character budget."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from agents.models import Agent
from memory import embeddings, fts
from memory.excerpts import ChunkLines, Hit, idf_of, recency_factor, select
from memory.markdown import stems, tokens
from memory.models import MemoryChunk
from memory.sync import agent_today, resolve_agent

__all__ = ["Hit", "SearchResult", "query_terms", "query_words", "search"]

MAX_RESULTS = 50
MAX_QUERY_WORDS = 12
CANDIDATE_CHUNKS = 20  # at least this many chunks have their lines scored
POOL_PER_HIT = 3  # and this many per hit asked for
# Dropped from queries (never from the index) so "what did we say about the boat" is about
# the boat, and does not rank (and scan) every chunk that contains "the".
_STOP_WORDS = (
    "a about an and are as at be but by did do does for from had has have he her his how i if "
    "in into is it its me my no not of on or our she so than that the their them then there "
    "these they this to was we were what when where which who why will with you your"
)
STOP_WORDS = frozenset(_STOP_WORDS.split())


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


def query_terms(query: str) -> list[str]:
    """`query_words` as the index holds them: stemmed, deduplicated."""
    return list(dict.fromkeys(stems(query_words(query))))


def search(
    agent_slug: Agent | str,
    query: str,
    max_results: int = 6,
    *,
    query_vector: list[float] | None = None,
    recency_half_life_days: float | None = None,
    today: dt.date | None = None,
    budget_chars: int | None = None,
) -> SearchResult:
    """The lines of the agent's memory that best answer `query`: at most `max_results` hits,
    best first, whose texts and citations fit in `budget_chars` (default: setting).

    Never raises for odd input: an empty or word-less query, or one nothing matches well
    enough, gives an empty result whose `note` says why. `query_vector` (from
    `embeddings.embed_query`) turns on hybrid ranking; `recency_half_life_days` (default:
    setting) lets newer daily logs win near-ties. Raises `agents.services.NotFound` for an
    unknown agent.
    """
    agent = resolve_agent(agent_slug)
    max_results = max(1, min(MAX_RESULTS, int(max_results)))
    if not query.strip():
        return SearchResult(query, note="The query is empty: give a few words to look for.")
    terms = query_terms(query)
    if not terms:
        return SearchResult(query, note="The query has no words to search for.")
    half_life = (
        settings.OPENCLAW_MEMORY_RECENCY_HALF_LIFE_DAYS
        if recency_half_life_days is None
        else recency_half_life_days
    )
    budget = settings.OPENCLAW_MEMORY_SEARCH_CHARS if budget_chars is None else budget_chars
    pool = max(CANDIDATE_CHUNKS, max_results * POOL_PER_HIT)
    ids = {cid for cid, _ in fts.keyword_scores(agent.pk, terms, pool)}
    vector: dict[int, float] = {}
    if query_vector is not None:
        vector = embeddings.vector_scores(agent.pk, query_vector, pool)
        ids |= vector.keys()
    fields = ("pk", "path", "date", "start_line", "text", "search_text")
    rows = MemoryChunk.objects.filter(pk__in=ids).order_by("path", "start_line")
    chunks = [
        ChunkLines(path, date, start, text, indexed, max(0.0, vector.get(pk, 0.0)))
        for pk, path, date, start, text, indexed in rows.values_list(*fields)
    ]
    total, frequencies = fts.document_frequencies(agent.pk, terms)
    today = today or agent_today(agent)
    recency = {c.path: recency_factor(c.date, today, half_life) for c in chunks}
    weight = embeddings.vector_weight() if vector else 0.0
    hits = select(
        chunks,
        terms,
        idf_of(total, frequencies),
        max_hits=max_results,
        budget=budget,
        recency=recency,
        vector_weight=weight,
    )
    notes = []
    if len(dict.fromkeys(tokens(query))) > MAX_QUERY_WORDS:
        notes.append(f"Only the first {MAX_QUERY_WORDS} words were searched.")
    if not hits:
        notes.append("No memory matches these words.")
    return SearchResult(query, hits, " ".join(notes))
