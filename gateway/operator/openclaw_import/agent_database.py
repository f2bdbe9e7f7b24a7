"""OpenClaw's per-agent SQLite database (`agents/<id>/agent/openclaw-agent.sqlite`, where newer
releases keep sessions instead of `sessions/*.jsonl`): each session key with its current
session id and the entry `sessions.json` used to hold (`session_nodes`), and that session's
transcript as the same JSON lines the files held (`transcript_events.event_json`, by `seq`).
Opened read-only; a schema without those columns is reported, not guessed at."""

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.operator.openclaw_import.transcript_format import MAX_TRANSCRIPT_BYTES

NAME = "openclaw-agent.sqlite"
NEEDED = {
    "session_nodes": {"session_key", "current_session_id", "entry_json"},
    "transcript_events": {"session_id", "seq", "event_json"},
}


class DatabaseError(Exception):
    """The database cannot be read, or its tables are not the ones this importer knows."""


@dataclass(frozen=True)
class StoredSession:
    key: str
    session_id: str
    meta: dict[str, Any]
    started: int | None  # Unix milliseconds
    lines: list[str | None]  # None: an event stored in a form this importer cannot read
    too_large: bool = False


def _connect(path: Path) -> sqlite3.Connection:
    # `immutable` reads without taking locks or creating -shm files; only safe with no WAL
    # waiting to be checkpointed (OpenClaw stopped cleanly), else plain read-only.
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() and wal.stat().st_size else "mode=ro&immutable=1"
    return sqlite3.connect(f"{path.as_uri()}?{flags}", uri=True)


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    query = f"PRAGMA table_info({table})"  # table: a name from NEEDED
    return {row[1] for row in connection.execute(query)}


def read_sessions(path: Path) -> list[StoredSession]:
    """Every session of the database with its transcript lines; `DatabaseError` otherwise."""
    try:
        connection = _connect(path)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot be opened ({exc})") from None
    try:
        for table, columns in NEEDED.items():
            missing = columns - _columns(connection, table)
            if missing:
                raise DatabaseError(
                    f"has no {table} table with {', '.join(sorted(missing))}: a schema this "
                    "importer does not know"
                )
        connection.row_factory = sqlite3.Row  # columns by name: they vary between releases
        rows = connection.execute("SELECT * FROM session_nodes ORDER BY session_key").fetchall()
        return [_session(connection, row) for row in rows]
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot be read ({exc})") from None
    finally:
        connection.close()


def _session(connection: sqlite3.Connection, row: sqlite3.Row) -> StoredSession:
    names = row.keys()
    session_id = str(row["current_session_id"])
    try:
        meta = json.loads(row["entry_json"])
    except (TypeError, ValueError):
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    if "display_name" in names and row["display_name"] and not meta.get("displayName"):
        meta["displayName"] = row["display_name"]
    created = row["created_at"] if "created_at" in names else None
    size = connection.execute(
        "SELECT COALESCE(SUM(LENGTH(event_json)), 0) FROM transcript_events WHERE session_id = ?",
        (session_id,),
    ).fetchone()[0]
    lines: list[str | None] = []
    if size <= MAX_TRANSCRIPT_BYTES:
        lines = [
            event[0] if isinstance(event[0], str) else None
            for event in connection.execute(
                "SELECT event_json FROM transcript_events WHERE session_id = ? ORDER BY seq",
                (session_id,),
            )
        ]
    return StoredSession(
        key=str(row["session_key"]),
        session_id=session_id,
        meta=meta,
        started=created if isinstance(created, int) else None,
        lines=lines,
        too_large=size > MAX_TRANSCRIPT_BYTES,
    )
