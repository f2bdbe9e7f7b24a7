"""The database side of keyword search: DDL for the full-text index and the ranked query,
one implementation per backend (SQLite FTS5 with bm25; PostgreSQL ts_rank read from a postings
table that triggers keep in step with the tsvectors)."""

# ruff: noqa: S608  # SQL text here is built from this module's table-name constants only;
# every value (query words, ids, limits) goes in as a parameter.

from collections.abc import Sequence
from typing import Any

from django.db import NotSupportedError, transaction
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

CHUNKS = "memory_memorychunk"
FTS = "memory_chunk_fts"
TERMS = "memory_chunk_terms"
VOCAB = "memory_chunk_vocab"  # SQLite: each term's document count, read from the FTS index

_SQLITE_INSTALL = [
    # External content: the text lives once, in the chunk table; the FTS table is the index.
    # Input is pre-tokenised and stemmed (memory.markdown.search_text), so unicode61 only
    # splits spaces and line breaks.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(search_text, content='{CHUNKS}', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ai AFTER INSERT ON {CHUNKS} BEGIN "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_ad AFTER DELETE ON {CHUNKS} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS}_au AFTER UPDATE ON {CHUNKS} BEGIN "
    f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {VOCAB} USING fts5vocab({FTS}, 'row')",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
_SQLITE_UNINSTALL = [
    f"DROP TABLE IF EXISTS {VOCAB}",
    f"DROP TRIGGER IF EXISTS {FTS}_ai",
    f"DROP TRIGGER IF EXISTS {FTS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS}_au",
    f"DROP TABLE IF EXISTS {FTS}",
]
_PG_INSTALL = [
    # Keep the tsvector in the row: out of line (TOAST), every match and rank reads it back
    # from a second table, which made ranking three times slower.
    f"ALTER TABLE {CHUNKS} ALTER COLUMN search_vector SET STORAGE MAIN",
    # The built-in trigger function keeps search_vector equal to to_tsvector(search_text).
    # Dropped first, so that `rebuild` can run this list again to repair a missing trigger.
    f"DROP TRIGGER IF EXISTS {CHUNKS}_tsv ON {CHUNKS}",
    f"CREATE TRIGGER {CHUNKS}_tsv BEFORE INSERT OR UPDATE ON {CHUNKS} FOR EACH ROW "
    "EXECUTE FUNCTION tsvector_update_trigger(search_vector, 'pg_catalog.simple', search_text)",
    f"UPDATE {CHUNKS} SET search_vector = to_tsvector('pg_catalog.simple', search_text)",
    f"CREATE INDEX IF NOT EXISTS {CHUNKS}_tsv_gin ON {CHUNKS} USING gin (search_vector)",
]
_PG_UNINSTALL = [
    f"DROP INDEX IF EXISTS {CHUNKS}_tsv_gin",
    f"DROP TRIGGER IF EXISTS {CHUNKS}_tsv ON {CHUNKS}",
]

# Postings (migration 0004): one row per (chunk, lexeme) with the lexeme's ts_rank in that
# chunk, so a query reads its words' postings from one index and sums them, instead of
# evaluating @@ and ts_rank on the tsvector of every matching chunk (over half of an agent's
# chunks for a typical query). Statement triggers keep the rows equal to the chunks'
# tsvectors through every INSERT, UPDATE, DELETE and TRUNCATE of the chunk table.
_PG_LEXEME_QUERY = r"""('''' || replace(replace(t.lexeme, '\', '\\'), '''', '''''') || '''')"""
_PG_POSTINGS_OF = (
    "SELECT c.agent_id, t.lexeme, c.id, "
    f"ts_rank(c.search_vector, {_PG_LEXEME_QUERY}::tsquery, 1) "
    "FROM {chunks} c, unnest(c.search_vector) t"
)
# enable_seqscan off inside the function: with no statistics (right after a bulk write, before
# autovacuum analyses the table, or on a server with autovacuum off) the planner guesses that a
# chunk id matches 1/200 of the postings and scans them all; that made each one-file delete
# take 0.4 s on ten years. The function never needs a sequential scan of the postings.
_PG_TERMS_SYNC = f"""CREATE OR REPLACE FUNCTION {TERMS}_sync() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE {TERMS};
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM {TERMS} WHERE chunk_id = ANY(ARRAY(SELECT id FROM old_chunks));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO {TERMS} (agent_id, lexeme, chunk_id, rank)
        {_PG_POSTINGS_OF.format(chunks="new_chunks")};
    END IF;
    RETURN NULL;
END
$$"""
# A trigger with transition tables can fire on one event only: one trigger per event.
_PG_TERMS_TRIGGERS = {
    f"{TERMS}_ai": "AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_chunks",
    f"{TERMS}_ad": "AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_chunks",
    f"{TERMS}_au": "AFTER UPDATE ON {t} "
    "REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks",
    f"{TERMS}_at": "AFTER TRUNCATE ON {t}",
}
_PG_TERMS_INSTALL = [
    f"CREATE TABLE IF NOT EXISTS {TERMS} (agent_id bigint NOT NULL, lexeme text NOT NULL, "
    "chunk_id bigint NOT NULL, rank real NOT NULL)",
    _PG_TERMS_SYNC,
    *(f"DROP TRIGGER IF EXISTS {name} ON {CHUNKS}" for name in _PG_TERMS_TRIGGERS),
    *(
        f"CREATE TRIGGER {name} {when.format(t=CHUNKS)} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {TERMS}_sync()"
        for name, when in _PG_TERMS_TRIGGERS.items()
    ),
    f"TRUNCATE {TERMS}",
    f"INSERT INTO {TERMS} (agent_id, lexeme, chunk_id, rank) "
    + _PG_POSTINGS_OF.format(chunks=CHUNKS),
    # Indexes last: on a new table, building them over the rows beats growing them row by row.
    # INCLUDE makes reading a word's postings an index-only scan.
    f"CREATE INDEX IF NOT EXISTS {TERMS}_lookup ON {TERMS} (agent_id, lexeme) "
    "INCLUDE (chunk_id, rank)",
    f"CREATE INDEX IF NOT EXISTS {TERMS}_chunk ON {TERMS} (chunk_id)",
]
_PG_TERMS_UNINSTALL = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {CHUNKS}" for name in _PG_TERMS_TRIGGERS),
    f"DROP FUNCTION IF EXISTS {TERMS}_sync()",
    f"DROP TABLE IF EXISTS {TERMS}",
]
# A query's words become lexemes the way to_tsquery made them (the same parser as the
# index). Each lexeme's weight is bm25's IDF over the agent's chunks, its document frequency
# counted on the index; the postings then stream straight into one sum per chunk (faster than
# a CTE of postings joined back to per-word counts).
_PG_SEARCH = f"""
WITH total AS (
    SELECT count(*)::float8 AS n FROM {CHUNKS} WHERE agent_id = %(agent)s
), words AS (
    SELECT l.lexeme, ln(1 + (total.n - df.n + 0.5) / (df.n + 0.5)) AS idf
    FROM (
        SELECT DISTINCT lexeme FROM unnest(%(words)s::text[]) word,
        unnest(tsvector_to_array(to_tsvector('pg_catalog.simple', word))) lexeme
    ) l, total, LATERAL (
        SELECT count(*)::float8 AS n FROM {TERMS} t
        WHERE t.agent_id = %(agent)s AND t.lexeme = l.lexeme
    ) df
)
SELECT t.chunk_id, sum(w.idf * t.rank) AS score
FROM words w JOIN {TERMS} t ON t.agent_id = %(agent)s AND t.lexeme = w.lexeme
GROUP BY t.chunk_id ORDER BY score DESC, t.chunk_id LIMIT %(limit)s"""


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "sqlite":
        _run(connection, _SQLITE_INSTALL)
    elif connection.vendor == "postgresql":
        _run(connection, _PG_INSTALL)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "sqlite":
        _run(connection, _SQLITE_UNINSTALL)
    elif connection.vendor == "postgresql":
        _run(connection, _PG_UNINSTALL)


def install_postings(connection: BaseDatabaseWrapper) -> None:
    """Create (or repair) PostgreSQL's postings table and its triggers, and fill it from the
    chunks' tsvectors. Idempotent; a no-op on other backends (SQLite ranks inside FTS5)."""
    if connection.vendor == "postgresql":
        _run(connection, _PG_TERMS_INSTALL)


def uninstall_postings(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _run(connection, _PG_TERMS_UNINSTALL)


def installed(connection: BaseDatabaseWrapper = default_connection) -> bool:
    """True when the index and its triggers exist (False on other backends)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
                [FTS, f"{FTS}_ai", f"{FTS}_ad", f"{FTS}_au"],
            )
            return bool(cursor.fetchone()[0] == 4)
        if connection.vendor == "postgresql":
            names = [f"{CHUNKS}_tsv", *_PG_TERMS_TRIGGERS]
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgrelid = %s::regclass",
                [names, CHUNKS],
            )
            return bool(cursor.fetchone()[0] == len(names))
    return False


def rebuild(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Recreate whatever is missing and rebuild the index from the chunk table."""
    if connection.vendor == "postgresql":
        # One transaction, so searches meanwhile wait for the new postings instead of failing.
        # The postings go first: while install() rewrites every tsvector their triggers would
        # replace every row one statement at a time (17 s instead of 6 on ten years).
        with transaction.atomic(using=connection.alias):
            uninstall_postings(connection)
            install(connection)
            install_postings(connection)
        return
    install(connection)
    if connection.vendor == "sqlite":
        _run(connection, [f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')"])


def keyword_scores(agent_id: int, words: Sequence[str], limit: int) -> list[tuple[int, float]]:
    """(chunk id, score) of the agent's chunks matching any of `words`, best first.

    `words` MUST be output of memory.markdown.terms (stemmed letters and digits only). Scores are
    positive, higher is better: -bm25 on SQLite; on PostgreSQL ts_rank per word (saturating
    term frequency, log-length normalisation) weighted by the word's inverse document
    frequency, the part of bm25 ts_rank lacks. A word the PostgreSQL parser splits (rare
    numeral signs) counts as its parts, each its own word.
    """
    if not words:
        return []
    vendor = default_connection.vendor
    with default_connection.cursor() as cursor:
        if vendor == "sqlite":
            # Quoting each token makes it a phrase: no FTS5 operator can come from user input.
            match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
            return _sqlite_scores(cursor, match, agent_id, limit)
        if vendor != "postgresql":
            raise NotSupportedError(f"Memory search needs SQLite or PostgreSQL, not {vendor}.")
        return _postgres_scores(cursor, words, agent_id, limit)


def document_frequencies(agent_id: int, words: Sequence[str]) -> tuple[int, dict[str, int]]:
    """How many chunks there are, and how many contain each of `words` (terms as indexed), for
    the inverse document frequencies of line scoring. SQLite counts over every agent's chunks
    (one index for all), PostgreSQL over the agent's own: either way a fair estimate."""
    if not words:
        return 0, {}
    found = dict.fromkeys(words, 0)
    with default_connection.cursor() as cursor:
        if default_connection.vendor == "sqlite":
            cursor.execute(f"SELECT count(*) FROM {CHUNKS}")
            total = int(cursor.fetchone()[0] or 0)
            marks = ", ".join(["%s"] * len(found))
            cursor.execute(f"SELECT term, doc FROM {VOCAB} WHERE term IN ({marks})", list(found))
        else:
            cursor.execute(f"SELECT count(*) FROM {CHUNKS} WHERE agent_id = %s", [agent_id])
            total = int(cursor.fetchone()[0])
            cursor.execute(
                f"SELECT lexeme, count(*) FROM {TERMS} WHERE agent_id = %s AND lexeme = ANY(%s) "
                "GROUP BY lexeme",
                [agent_id, list(found)],
            )
        for term, count in cursor.fetchall():
            found[str(term)] = int(count)
    return max(total, max(found.values(), default=0)), found


def _sqlite_scores(cursor: Any, match: str, agent_id: int, limit: int) -> list[tuple[int, float]]:
    # Ranking inside FTS5 first and joining only the best rows is twice as fast as joining
    # every match. Other agents' rows can crowd the agent's out of the inner limit, so widen it
    # until enough rows are the agent's or the inner query ran out of matches.
    inner = limit
    while True:
        cursor.execute(
            f"SELECT c.id, -f.score FROM (SELECT rowid, rank AS score FROM {FTS} "
            f"WHERE {FTS} MATCH %s ORDER BY rank, rowid LIMIT %s) f "
            f"JOIN {CHUNKS} c ON c.id = f.rowid WHERE c.agent_id = %s ORDER BY f.score, c.id",
            [match, inner, agent_id],
        )
        rows = [(int(i), float(s)) for i, s in cursor.fetchall()]
        if len(rows) >= limit:
            return rows[:limit]
        cursor.execute(f"SELECT count(*) FROM {FTS} WHERE {FTS} MATCH %s", [match])
        if cursor.fetchone()[0] <= inner:
            return rows
        inner *= 8


def _postgres_scores(
    cursor: Any, words: Sequence[str], agent_id: int, limit: int
) -> list[tuple[int, float]]:
    cursor.execute(_PG_SEARCH, {"words": list(words), "agent": agent_id, "limit": limit})
    return [(int(cid), float(score)) for cid, score in cursor.fetchall()]
