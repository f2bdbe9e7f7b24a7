"""Keyword ranking keeps bm25's properties on both backends, and PostgreSQL's postings table
(memory.fts) stays equal to the chunks through every write: a changed file, a deleted file,
reindexes, bulk updates, truncation and a deleted agent."""

# ruff: noqa: S608  # SQL here is built from table-name constants; values are parameters.

import datetime as dt
import math
import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from agents.models import Agent
from memory import fts, services
from memory.models import MemoryChunk
from memory.search import query_words, search
from memory.sync import sync_document
from tests.memory.corpus import EXPECTED, LOGS

pytestmark = [pytest.mark.services, pytest.mark.django_db]
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the postings table exists on PostgreSQL only"
)
DAY = dt.date(2024, 6, 1)

# What the postings must be, derived here without memory.fts: every lexeme of each chunk's
# to_tsvector(search_text), with its ts_rank in that chunk.
_STORED = f"SELECT agent_id, lexeme, chunk_id, rank FROM {fts.TERMS}"
_EXPECTED = (
    "SELECT c.agent_id, t.lexeme, c.id, ts_rank(to_tsvector('pg_catalog.simple', c.search_text), "
    "to_tsquery('pg_catalog.simple', quote_literal(t.lexeme)), 1) "
    "FROM memory_memorychunk c, unnest(to_tsvector('pg_catalog.simple', c.search_text)) t"
)


def _stale_postings() -> int:
    """Rows missing from, or left over in, the postings table."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (({_STORED} EXCEPT ALL {_EXPECTED}) "
            f"UNION ALL ({_EXPECTED} EXCEPT ALL {_STORED})) d"
        )
        return int(cursor.fetchone()[0])


def _postings(lexeme: str) -> int:
    """Rows of one indexed term (an English stem: "canoe" is indexed as "cano")."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {fts.TERMS} WHERE lexeme = %s", [lexeme])
        return int(cursor.fetchone()[0])


def _write_log(agent: Agent, day: dt.date, text: str) -> None:
    """Write a daily log on disk as a person would, and let sync pick it up."""
    path = agent.workspace / "memory" / f"{day:%Y-%m-%d}.md"
    existed = path.exists()
    path.write_text(text)
    if existed:  # a same-size rewrite within one clock tick must still look changed
        info = path.stat()
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    sync_document(agent, day)


def _hits(agent: Agent, query: str) -> list[tuple[str, int, int]]:
    return [(h.path, h.start_line, h.end_line) for h in search(agent, query, 10).hits]


@on_postgres
def test_postings_follow_a_changed_file(agent: Agent) -> None:
    _write_log(agent, DAY, "# 2024-06-01\n\nBought a red kayak. The kayak is light.\n")
    assert _postings("kayak") == 1
    assert _stale_postings() == 0
    _write_log(agent, DAY, "# 2024-06-01\n\nBought a green canoe.\n")
    assert (_postings("kayak"), _postings("cano")) == (0, 1)
    assert _stale_postings() == 0
    assert _hits(agent, "kayak") == []
    services.write_daily_log(agent, DAY, "Sold the canoe, bought a raft.\n", None, "test")
    assert (_postings("cano"), _postings("raft")) == (1, 1)
    assert _stale_postings() == 0


@on_postgres
def test_postings_follow_a_deleted_file(agent: Agent) -> None:
    _write_log(agent, DAY, "# 2024-06-01\n\nBought a red kayak.\n")
    _write_log(agent, DAY + dt.timedelta(days=1), "# 2024-06-02\n\nPainted the kayak.\n")
    assert _postings("kayak") == 2
    (agent.workspace / "memory" / "2024-06-01.md").unlink()
    sync_document(agent, DAY)
    assert _postings("kayak") == 1
    assert _postings("red") == 0
    assert _stale_postings() == 0
    assert _hits(agent, "kayak") == [("memory/2024-06-02.md", 3, 3)]


# Reindexing every agent repairs the index with ALTER TABLE, and TRUNCATE is a test here:
# neither may run while deferred foreign-key checks are pending, so these tests commit.
@on_postgres
@pytest.mark.django_db(transaction=True)
def test_postings_stay_right_through_every_reindex(corpus: Agent) -> None:
    before = {query: _hits(corpus, query) for query in EXPECTED}
    assert _stale_postings() == 0
    services.reindex(corpus)
    assert _stale_postings() == 0
    services.reindex()  # every agent, and repairs the index first
    assert _stale_postings() == 0
    call_command("memory", "reindex", stdout=StringIO())
    assert _stale_postings() == 0
    fts.uninstall_postings(connection)
    assert not fts.installed(connection)
    services.reindex()
    assert fts.installed(connection)
    assert _stale_postings() == 0
    assert {query: _hits(corpus, query) for query in EXPECTED} == before


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_postings_follow_bulk_updates_truncation_and_agent_deletion(corpus: Agent) -> None:
    bob = Agent.objects.create(slug="bob", name="Bob")
    services.write_working_memory(bob, "Bob's kayak is yellow.\n", None, "test")
    # search_text holds the heading's terms, then one line of terms (stems) per line of text.
    MemoryChunk.objects.filter(agent=corpus, path="MEMORY.md").update(search_text="\ngiraff")
    assert _stale_postings() == 0
    assert _hits(corpus, "giraffe") == [("MEMORY.md", 1, 1)]
    bob.delete()
    assert _postings("yellow") == 0
    assert _stale_postings() == 0
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE memory_memorychunk")
    assert _postings("kayak") == 0
    assert _stale_postings() == 0


def _ts_rank_scores(agent: Agent, words: list[str]) -> list[tuple[int, float]]:
    """The ranking PostgreSQL had before the postings table: @@ and ts_rank per word on every
    matching chunk's tsvector, IDF over the agent's chunks, summed here."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM memory_memorychunk WHERE agent_id = %s", [agent.pk])
        total = int(cursor.fetchone()[0])
        query = "to_tsquery('pg_catalog.simple', quote_literal(%s))"
        ranks = ", ".join(f"ts_rank(search_vector, {query}, 1)::float8" for _ in words)
        cursor.execute(
            # float8 in SQL: a real read back as text is rounded to its shortest decimal form.
            f"SELECT id, {ranks} FROM memory_memorychunk WHERE agent_id = %s "
            f"AND search_vector @@ ({' || '.join(query for _ in words)})",
            [*words, agent.pk, *words],
        )
        rows = cursor.fetchall()
    freqs = [sum(1 for row in rows if row[i + 1] > 0) for i in range(len(words))]
    idf = [math.log(1 + (total - n + 0.5) / (n + 0.5)) for n in freqs]
    scored = [(sum(w * r for w, r in zip(idf, row[1:], strict=True)), row[0]) for row in rows]
    return [(cid, score) for score, cid in sorted(scored, key=lambda p: (-p[0], p[1]))]


@on_postgres
@pytest.mark.parametrize(
    "query", [*EXPECTED, "kayak ana bruno shipyard", "the", "porto tea whales report kayak"]
)
def test_postgres_ranking_equals_ts_rank_weighted_by_idf(corpus: Agent, query: str) -> None:
    bob = Agent.objects.create(slug="bob", name="Bob")  # his chunks must not change Ada's IDF
    (bob.workspace / "memory").mkdir(parents=True)
    for day, text in LOGS.items():
        (bob.workspace / "memory" / f"{day}.md").write_text(text + "\nKayak, kayak, kayak.\n")
    services.sync_agent(bob)
    words = query_words(query)
    expected = _ts_rank_scores(corpus, words)
    got = fts.keyword_scores(corpus.pk, words, 100)
    assert [cid for cid, _ in got] == [cid for cid, _ in expected]
    assert [score for _, score in got] == pytest.approx([s for _, s in expected], rel=1e-12)


def _logs(agent: Agent, texts: list[str]) -> list[str]:
    """One single-chunk daily log per text; returns their paths, in order."""
    paths = []
    for n, text in enumerate(texts):
        day = DAY + dt.timedelta(days=n)
        (agent.workspace / "memory" / f"{day:%Y-%m-%d}.md").write_text(text + "\n")
        paths.append(f"memory/{day:%Y-%m-%d}.md")
    services.sync_agent(agent)
    return paths


def test_a_rare_word_outranks_a_common_one(agent: Agent) -> None:
    paths = _logs(
        agent,
        [f"The common thing happened on day {n}." for n in range(6)]
        + ["The rare thing happened today."],
    )
    hits = search(agent, "common rare", 10).hits
    assert hits[0].path == paths[-1]
    # The lines matching only the common word score under the relevance floor.
    assert [h.path for h in hits] == [paths[-1]]
    assert [h.path for h in search(agent, "common", 10).hits] == paths[:-1]


def test_a_chunk_repeating_a_word_outranks_one_mentioning_it_once(agent: Agent) -> None:
    paths = _logs(
        agent,
        [
            "kayak paddle river lake shore",
            "kayak kayak kayak paddle river",  # as long as the first, the word three times
            "nothing about boats here today",
        ],
    )
    hits = search(agent, "kayak", 10).hits
    assert [h.path for h in hits] == [paths[1], paths[0]]
    assert hits[0].score > hits[1].score


def test_other_agents_chunks_never_appear(agent: Agent) -> None:
    bob = Agent.objects.create(slug="bob", name="Bob")
    (bob.workspace / "memory").mkdir(parents=True)
    _logs(bob, [f"Kayak trip number {n}: kayak, kayak and more kayak." for n in range(30)])
    mine = _logs(agent, ["Sold the old kayak."])
    assert [h.path for h in search(agent, "kayak", 50).hits] == mine
    ada_chunks = set(MemoryChunk.objects.filter(agent=agent).values_list("id", flat=True))
    assert {cid for cid, _ in fts.keyword_scores(agent.pk, ["kayak"], 50)} == ada_chunks
    assert len(search(bob, "kayak", 50).hits) == 30


def test_postings_table_is_postgres_only(agent: Agent) -> None:
    """SQLite keeps ranking inside FTS5: the migration adds nothing there."""
    tables = connection.introspection.table_names()
    assert (fts.TERMS in tables) == (connection.vendor == "postgresql")
