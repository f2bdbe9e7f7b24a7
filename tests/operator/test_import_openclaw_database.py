"""Newer OpenClaw releases keep sessions in a per-agent SQLite database
(`agents/<id>/agent/openclaw-agent.sqlite`: `session_nodes` and `transcript_events`) instead of
`sessions/*.jsonl`: the import reads them from there, read-only, and reports a database whose
tables it does not know."""

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django.fixtures import Settings

from agents.context import history_messages
from agents.models import Session
from agents.transcripts import read_entries

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = """
CREATE TABLE session_nodes (
  session_key TEXT NOT NULL PRIMARY KEY, current_session_id TEXT NOT NULL,
  entry_json TEXT NOT NULL, updated_at INTEGER NOT NULL, created_at INTEGER, display_name TEXT
) STRICT;
CREATE TABLE transcript_events (
  session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT, created_at INTEGER NOT NULL,
  event_zstd BLOB, PRIMARY KEY (session_id, seq)
) STRICT;
"""
MAIN = "0d9e2f31-6a7b-4c8d-9e0f-1a2b3c4d5e6f"
DM = "7e6d5c4b-3a29-4180-8f7e-6d5c4b3a2918"


def event(id_: str, parent: str | None, ts: str, role: str, text: str) -> str:
    content = text if role == "user" else [{"type": "text", "text": text}]
    message = {"role": role, "content": content}
    return json.dumps(
        {"type": "message", "id": id_, "parentId": parent, "timestamp": ts, "message": message}
    )


@pytest.fixture
def source(tmp_path: Path, settings: Settings) -> Path:
    settings.OPENCLAW_HOME = tmp_path / "home"
    settings.OPENCLAW_WORKSPACES = tmp_path / "home" / "workspaces"
    settings.OPENCLAW_SECRETS_FILE = ""
    root = tmp_path / "dot-openclaw"
    (root / "agents" / "ops" / "agent").mkdir(parents=True)
    (root / "openclaw.json").write_text('{ agents: { list: [ { id: "ops", default: true } ] } }')
    database = sqlite3.connect(root / "agents" / "ops" / "agent" / "openclaw-agent.sqlite")
    database.executescript(SCHEMA)
    nodes = [
        ("agent:ops:main", MAIN, {"sessionId": MAIN, "chatType": "direct"}, "Ops main"),
        ("agent:ops:telegram:dm:4242", DM, {"sessionId": DM, "lastChannel": "telegram"}, None),
    ]
    for key, session_id, entry, name in nodes:
        database.execute(
            "INSERT INTO session_nodes VALUES (?, ?, ?, 1793700000000, 1793690000000, ?)",
            (key, session_id, json.dumps(entry), name),
        )
    events = [
        (
            MAIN,
            2,
            event("m2", "m1", "2026-11-03T09:00:05Z", "assistant", "The backup ran at 02:00."),
        ),
        (MAIN, 1, event("m1", None, "2026-11-03T09:00:00Z", "user", "Did the backup run?")),
        (MAIN, 3, None),  # stored compressed (event_zstd): not readable here
        (DM, 1, event("d1", None, "2026-11-03T10:00:00Z", "user", "Is the VPN up?")),
    ]
    for session_id, seq, *line in events:
        database.execute(
            "INSERT INTO transcript_events VALUES (?, ?, ?, 1793690000000, ?)",
            (session_id, seq, line[0], b"\x28\xb5" if line[0] is None else None),
        )
    database.commit()
    database.close()
    return root


def run(path: Path) -> str:
    out = io.StringIO()
    call_command("import-openclaw", str(path), stdout=out)
    return out.getvalue()


def test_sessions_in_the_agent_database_are_imported_read_only(source: Path) -> None:
    database = source / "agents" / "ops" / "agent" / "openclaw-agent.sqlite"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    out = run(source)
    main = Session.objects.get(key="agent:ops:main")
    assert main.title == "Ops main" and main.turns == 1
    history = history_messages(read_entries(main.transcript_file), 10_000)
    assert [m["content"][-len("Did the backup run?") :] for m in history[:1]] == [
        "Did the backup run?"
    ]
    assert history[1] == {"role": "assistant", "content": "The backup ran at 02:00."}
    assert "1 unreadable lines" in out
    dm = Session.objects.get(key="agent:ops:telegram:dm:4242")
    assert (dm.channel, dm.peer) == ("telegram", "4242")
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["openclaw-agent.sqlite"]
    assert "0 changed" in run(source)  # a second run finds them


def test_a_database_of_unknown_shape_is_reported(source: Path) -> None:
    database = sqlite3.connect(source / "agents" / "ops" / "agent" / "openclaw-agent.sqlite")
    database.execute("DROP TABLE transcript_events")
    database.commit()
    database.close()
    out = run(source)
    assert "has no transcript_events table with event_json, seq, session_id" in out
    assert not Session.objects.filter(agent__slug="ops").exists()
