"""OpenClaw sessions (`agents/<id>/sessions/sessions.json` and the JSONL transcripts it points
to) into our sessions: each becomes a `Session` row under our form of its session key, with a
transcript in our JSONL format that the next turn reads as history. The session id is derived
from OpenClaw's, so a second import finds it; the originals are only read."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from agents.models import Agent, Session
from agents.transcripts import append_entries
from gateway.operator.openclaw_import.agent_database import NAME as DATABASE_NAME
from gateway.operator.openclaw_import.agent_database import (
    DatabaseError,
    StoredSession,
    read_sessions,
)
from gateway.operator.openclaw_import.plan import Step, create, skip, unmapped
from gateway.operator.openclaw_import.source import AgentEntry, Source
from gateway.operator.openclaw_import.transcript_format import (
    MAX_TRANSCRIPT_BYTES,
    Converted,
    convert,
    convert_lines,
    iso,
)

NAMESPACE = uuid.UUID("6f1d2c1e-4b8a-5e0f-9c3d-0a7e5b2f4c11")
PLATFORMS = ("telegram", "slack", "whatsapp")


def session_uuid(agent_id: str, session_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"openclaw:{agent_id}:{session_id}")


def our_key(key: str, slug: str, meta: dict[str, Any]) -> tuple[str, str, str, bool]:
    """(our session key, channel, peer, is group) for an OpenClaw session key: the agent id
    becomes our slug, per-account DM keys lose the account, `topic` is our `thread`, a Slack
    `channel` is our `group`; keys outside `agent:` (cron, hooks) are kept under the agent."""
    parts = key.split(":")
    rest = parts[2:] if len(parts) >= 3 and parts[0] == "agent" else parts
    rest = ["thread" if p == "topic" else p for p in rest]
    if len(rest) >= 4 and rest[0] in PLATFORMS and rest[2] == "dm":
        rest = [rest[0], *rest[2:]]  # <channel>:<account>:dm:<peer>
    if len(rest) >= 2 and rest[0] == "dm":  # per-peer DMs without a channel
        channel = str(meta.get("lastChannel") or meta.get("channel") or "")
        rest = [channel, *rest] if channel in PLATFORMS else rest
    if len(rest) >= 3 and rest[0] in PLATFORMS and rest[1] in ("channel", "room"):
        rest = [rest[0], "group", *rest[2:]]
    channel = rest[0] if rest and rest[0] in PLATFORMS else "web"
    is_group = len(rest) >= 3 and rest[1] == "group"
    peer = rest[2] if channel != "web" and len(rest) >= 3 else ""
    return f"agent:{slug}:{':'.join(rest)}", channel, peer, is_group


def _store(source: Source, agent: AgentEntry) -> dict[str, Any] | None:
    path = source.sessions_dir(agent) / "sessions.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _transcript(source: Source, agent: AgentEntry, meta: dict[str, Any]) -> Path | None:
    folder = source.sessions_dir(agent)
    named = meta.get("sessionFile")
    if isinstance(named, str) and named:
        path = Path(named) if Path(named).is_absolute() else folder / named
    else:
        path = folder / f"{meta.get('sessionId')}.jsonl"
        if not path.is_file():  # a Telegram topic's transcript: <sessionId>-topic-<id>.jsonl
            path = next(iter(sorted(folder.glob(f"{meta.get('sessionId')}-topic-*.jsonl"))), path)
    path = path.resolve()
    return path if path.is_relative_to(source.home) and path.is_file() else None


def plan_transcripts(source: Source, agent: AgentEntry, agent_ok: bool) -> list[Step]:
    """The agent's sessions from `sessions.json` and its JSONL files, then those only in the
    agent's SQLite database (newer releases)."""
    steps: list[Step] = []
    taken: set[str] = set()
    seen: set[str] = set()
    store = _store(source, agent) or {}
    folder = source.sessions_dir(agent)
    for key, meta in store.items():
        if not isinstance(meta, dict) or not isinstance(meta.get("sessionId"), str):
            continue
        seen.add(meta["sessionId"])
        path = _transcript(source, agent, meta)
        origin = {"session_key": key, "session_id": meta["sessionId"]}
        if path is not None:
            origin["file"] = str(path.relative_to(source.home))
        read = (lambda p=path, o=origin: convert(p, o)) if path is not None else None
        steps.append(_plan_session(agent, agent_ok, key, meta, read, taken))
    referenced = {str(m.get("sessionId")) for m in store.values() if isinstance(m, dict)}
    others = [p for p in folder.glob("*.jsonl") if p.stem.split("-topic-")[0] not in referenced]
    if others:
        steps.append(
            unmapped(
                "transcripts",
                f"{agent.id} (older)",
                f"{len(others)} transcripts in {folder} no longer referenced by sessions.json "
                "(reset or replaced sessions)",
            )
        )
    steps += _from_database(source, agent, agent_ok, seen, taken)
    return steps


def _from_database(
    source: Source, agent: AgentEntry, agent_ok: bool, seen: set[str], taken: set[str]
) -> list[Step]:
    path = source.home / "agents" / agent.id / "agent" / DATABASE_NAME
    if not path.is_file():
        return []
    try:
        stored = read_sessions(path)
    except DatabaseError as exc:
        return [unmapped("sessions", agent.id, f"{path} {exc}")]
    steps = []
    for found in stored:
        if found.session_id in seen:
            continue  # also in sessions.json and its JSONL file, imported from there
        meta = {**found.meta, "sessionId": found.session_id}
        origin = {"session_key": found.key, "session_id": found.session_id}
        origin["database"] = str(path.relative_to(source.home))

        def read(found: StoredSession = found, origin: dict[str, str] = origin) -> Converted:
            if found.too_large:
                raise ValueError(f"larger than {MAX_TRANSCRIPT_BYTES // 1024 // 1024} MB")
            return convert_lines(found.lines, origin, found.started)

        steps.append(_plan_session(agent, agent_ok, found.key, meta, read, taken))
    return steps


def _plan_session(
    agent: AgentEntry,
    agent_ok: bool,
    key: str,
    meta: dict[str, Any],
    read: Callable[[], Converted] | None,
    taken: set[str],
) -> Step:
    label = f"{agent.id} {key}"
    session_id = session_uuid(agent.id, meta["sessionId"])
    if Session.objects.filter(session_id=session_id).exists():
        return skip("transcript", label)
    if not agent_ok:
        return unmapped("transcript", label, "its agent is not imported")
    if read is None:
        return unmapped("transcript", label, "its transcript file is missing")
    try:
        converted = read()
    except (OSError, ValueError) as exc:
        return unmapped("transcript", label, f"unreadable: {exc}")
    return _plan_one(agent, key, meta, session_id, converted, taken)


def _plan_one(
    agent: AgentEntry,
    key: str,
    meta: dict[str, Any],
    session_id: uuid.UUID,
    converted: Converted,
    taken: set[str],
) -> Step:
    new_key, channel, peer, is_group = our_key(key, agent.slug, meta)
    archived = new_key in taken or Session.objects.filter(key=new_key, status="active").exists()
    taken.add(new_key)
    last = converted.entries[-1]["ts"]
    updated = iso(meta.get("updatedAt"), last)
    title = meta.get("displayName") or meta.get("subject") or meta.get("label") or ""
    if not title:
        first = next((e for e in converted.entries if e.get("role") == "user"), None)
        title = first.get("content", "") if first else ""
    relative = f"sessions/{agent.slug}/{session_id.hex}.jsonl"

    def apply() -> str | None:
        owner = Agent.objects.get(slug=agent.slug)
        session = Session(
            key=new_key,
            session_id=session_id,
            agent=owner,
            channel=channel,
            peer=peer[:255],
            is_group=is_group,
            title=str(title)[:200],
            status=Session.Status.ARCHIVED if archived else Session.Status.ACTIVE,
            turns=converted.turns,
            tokens_in=converted.tokens_in,
            tokens_out=converted.tokens_out,
            tokens_cached=converted.tokens_cached,
            transcript_path=relative,
        )
        target = session.transcript_file
        target.unlink(missing_ok=True)  # left by an import that stopped before its row
        append_entries(target, converted.entries, fsync=True)
        with transaction.atomic():
            # A running gateway may have opened this key since the plan was made.
            opened = not archived and Session.objects.filter(key=new_key, status="active").exists()
            if opened:
                session.status = Session.Status.ARCHIVED
            session.save()
            Session.objects.filter(pk=session.pk).update(
                created_at=_when(converted.entries[0]["ts"]), last_active_at=_when(updated)
            )
        return "archived: this key got an active session here meanwhile" if opened else None

    detail = f"→ {new_key}, {len(converted.entries) - 1} entries, {converted.turns} turns"
    if archived:
        detail += " (archived: this key already has an active session here)"
    step = create("transcript", f"{agent.id} {key}", detail, apply)
    step.notes = [f"{n} {what}" for what, n in converted.skipped.items()]
    if converted.unreadable_lines:
        step.notes.append(f"{converted.unreadable_lines} unreadable lines")
    return step


def _when(ts: str) -> datetime:
    return datetime.fromisoformat(ts).astimezone(UTC)
