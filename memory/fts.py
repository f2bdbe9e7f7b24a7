"""The database side of keyword search: DDL for the full-text index and the ranked query,
one implementation per backend (SQLite FTS5 with bm25, PostgreSQL tsvector with ts_rank)."""

# ruff: noqa: S608  # SQL text here is built from this module's table-name constants only;
# every value (query words, ids, limits) goes in as a parameter.

import math
from collections.abc import Sequence
from typing import Any

from django.db import NotSupportedError
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

CHUNKS = "memory_memorychunk"
FTS = "memory_chunk_fts"

_SQLITE_INSTALL = [
    # External content: the text lives once, in the chunk table; the FTS table is the index.
    # Input is pre-tokenised (memory.markdown.search_text), so unicode61 only splits spaces.
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
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]
_SQLITE_UNINSTALL = [
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
    f"CREATE TRIGGER {CHUNKS}_tsv BEFORE INSERT OR UPDATE ON {CHUNKS} FOR EACH ROW "
    "EXECUTE FUNCTION tsvector_update_trigger(search_vector, 'pg_catalog.simple', search_text)",
    f"UPDATE {CHUNKS} SET search_vector = to_tsvector('pg_catalog.simple', search_text)",
    f"CREATE INDEX IF NOT EXISTS {CHUNKS}_tsv_gin ON {CHUNKS} USING gin (search_vector)",
]
_PG_UNINSTALL = [
    f"DROP INDEX IF EXISTS {CHUNKS}_tsv_gin",
    f"DROP TRIGGER IF EXISTS {CHUNKS}_tsv ON {CHUNKS}",
]


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
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = %s", [f"{CHUNKS}_tsv"])
            return bool(cursor.fetchone()[0] == 1)
    return False


def rebuild(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Recreate whatever is missing and rebuild the index from the chunk table."""
    install(connection)
    if connection.vendor == "sqlite":
        _run(connection, [f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')"])


def keyword_scores(agent_id: int, words: Sequence[str], limit: int) -> list[tuple[int, float]]:
    """(chunk id, score) of the agent's chunks matching any of `words`, best first.

    `words` MUST be output of memory.markdown.tokens (letters and digits only). Scores are
    positive, higher is better: -bm25 on SQLite; on PostgreSQL ts_rank per word weighted by
    the word's inverse document frequency, which is the part of bm25 ts_rank lacks.
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
    # One pass over the matching rows fetches each word's ts_rank; the document frequencies
    # and the IDF-weighted sum are then computed here, which costs half of doing both in SQL.
    lexemes = ["'" + w.replace("'", "''") + "'" for w in words]  # quoted: no tsquery syntax
    match = "to_tsquery('pg_catalog.simple', %s)"
    ranks = ", ".join(f"ts_rank(search_vector, {match}, 1)" for _ in words)
    cursor.execute(f"SELECT count(*) FROM {CHUNKS} WHERE agent_id = %s", [agent_id])
    total = int(cursor.fetchone()[0])
    cursor.execute(
        f"SELECT id, {ranks} FROM {CHUNKS} WHERE agent_id = %s AND search_vector @@ {match}",
        [*lexemes, agent_id, " | ".join(lexemes)],
    )
    rows = cursor.fetchall()
    freqs = [sum(1 for row in rows if row[i + 1] > 0) for i in range(len(words))]
    idf = [math.log(1 + (total - n + 0.5) / (n + 0.5)) for n in freqs]
    scored = [(sum(w * r for w, r in zip(idf, row[1:], strict=True)), row[0]) for row in rows]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [(int(cid), float(score)) for score, cid in scored[:limit]]
