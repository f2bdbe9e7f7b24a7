"""OpenClaw's session transcripts (`agents/<id>/sessions/<sessionId>.jsonl`: a `session` header,
then entries linked into a tree by `id`/`parentId`) converted into our transcript entries
(`agents.transcripts.Entry`), keeping each entry's time stamp. Only the branch that ends at
the last entry is the conversation; pure functions, no I/O but reading the file."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.transcripts import Entry

MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024
STOP_REASONS = {"stop": "stop", "toolUse": "tool_calls", "length": "length", "error": "error"}
STOP_REASONS["aborted"] = "aborted"


@dataclass
class Converted:
    header: dict[str, Any]
    entries: list[Entry]
    turns: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    unreadable_lines: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1


def iso(value: object, fallback: str) -> str:
    """An ISO time stamp (UTC, milliseconds) from an ISO string or Unix milliseconds."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            when = datetime.fromtimestamp(value / 1000, UTC)
        elif isinstance(value, str):
            when = datetime.fromisoformat(value)
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        else:
            return fallback
    except (ValueError, OverflowError, OSError):
        return fallback
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def _text(content: object, converted: Converted) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text") or ""))
        elif block.get("type") == "image":
            parts.append("[image not imported]")
            converted.skip("images")
    return "\n".join(p for p in parts if p)


def branch(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries on the path from the root to the last entry (file order when the entries
    carry no tree links, as in version 1 files)."""
    by_id = {item["id"]: item for item in items if isinstance(item.get("id"), str)}
    if not items or len(by_id) != len(items):
        return items
    path, seen = [], set()
    node: dict[str, Any] | None = items[-1]
    while node is not None and node["id"] not in seen:
        seen.add(node["id"])
        path.append(node)
        parent = node.get("parentId")
        node = by_id.get(parent) if isinstance(parent, str) else None
    return path[::-1]


def _usage(value: object, converted: Converted) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    fresh, cached = int(value.get("input") or 0), int(value.get("cacheRead") or 0)
    written, output = int(value.get("cacheWrite") or 0), int(value.get("output") or 0)
    prompt = fresh + cached + written
    converted.tokens_in += prompt
    converted.tokens_out += output
    converted.tokens_cached += cached
    usage = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}
    if cached:
        usage["cached_tokens"] = cached
    if written:
        usage["cache_creation_tokens"] = written
    return usage


def _message(item: dict[str, Any], ts: str, converted: Converted) -> Entry | None:
    message = item.get("message") if isinstance(item.get("message"), dict) else {}
    assert isinstance(message, dict)  # noqa: S101  # narrowed just above
    role = message.get("role")
    entry: dict[str, Any] = {"type": "message", "ts": ts}
    if role == "user":
        converted.turns += 1
        entry.update(role="user", content=_text(message.get("content"), converted))
    elif role == "assistant":
        blocks = message.get("content") if isinstance(message.get("content"), list) else []
        calls = [
            {
                "id": str(b.get("id")),
                "type": "function",
                "function": {
                    "name": str(b.get("name")),
                    "arguments": json.dumps(b.get("arguments") or {}),
                },
            }
            for b in blocks or []
            if isinstance(b, dict) and b.get("type") == "toolCall"
        ]
        entry.update(role="assistant", content=_text(message.get("content"), converted))
        if calls:
            entry["tool_calls"] = calls
        if usage := _usage(message.get("usage"), converted):
            entry["usage"] = usage
        stop = STOP_REASONS.get(str(message.get("stopReason")))
        if stop:
            entry["stop_reason"] = stop
        if message.get("model"):
            entry["meta"] = {
                "model": f"{message.get('provider') or ''}/{message['model']}".lstrip("/")
            }
    elif role == "toolResult":
        entry = {
            "type": "tool_result",
            "ts": ts,
            "content": _text(message.get("content"), converted),
            "meta": {
                "call_id": str(message.get("toolCallId")),
                "name": str(message.get("toolName") or ""),
                "ok": not message.get("isError"),
            },
        }
    else:
        converted.skip(f"{role} messages")
        return None
    return entry  # type: ignore[return-value]  # the keys of Entry, built above


def convert(path: Path, origin: dict[str, Any]) -> Converted:
    """Read and convert one JSONL transcript; `origin` is noted on our leading `session`
    entry."""
    if path.stat().st_size > MAX_TRANSCRIPT_BYTES:
        raise ValueError(f"larger than {MAX_TRANSCRIPT_BYTES // 1024 // 1024} MB")
    return convert_lines(path.read_text(encoding="utf-8", errors="replace").splitlines(), origin)


def convert_lines(
    lines: Iterable[str | None], origin: dict[str, Any], started: object = None
) -> Converted:
    """Convert a transcript's lines (JSON objects; None for a line that cannot be read);
    `started`: when the session began, if no `session` header says so."""
    items: list[dict[str, Any]] = []
    unreadable = 0
    for line in lines:
        if line is not None and not line.strip():
            continue
        try:
            value = json.loads(line) if line is not None else None
        except ValueError:
            value = None
        if isinstance(value, dict):
            items.append(value)
        else:
            unreadable += 1
    header = next((i for i in items if i.get("type") == "session"), {})
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    started_at = iso(header.get("timestamp"), iso(started, now))
    first: Entry = {
        "type": "session",
        "ts": started_at,
        "meta": {"imported_from": "openclaw", **origin},
    }
    converted = Converted(header, [first], unreadable_lines=unreadable)
    positions: dict[str, int] = {}
    for item in branch([i for i in items if i.get("type") != "session"]):
        ts = iso(item.get("timestamp"), started_at)
        kind = item.get("type")
        entry: Entry | None = None
        if kind == "message":
            message = item.get("message")
            stamp = message.get("timestamp") if isinstance(message, dict) else None
            entry = _message(item, iso(stamp, ts), converted)
        elif kind == "compaction":
            kept = positions.get(str(item.get("firstKeptEntryId")), len(converted.entries))
            entry = {"type": "compaction", "ts": ts, "content": str(item.get("summary") or "")}
            entry["meta"] = {"kept_from": kept}
        elif kind in ("custom_message", "branch_summary"):
            converted.skip(f"{kind} entries")
        if isinstance(item.get("id"), str):
            positions[item["id"]] = len(converted.entries)
        if entry is not None:
            converted.entries.append(entry)
    return converted
