"""A session transcript as a conversation to read: entries grouped into turns, each item typed
for display (user and assistant text, tool calls paired with their results, compaction summaries,
notices, errors), flags for cut-short answers, and usage per turn. Pure: no ORM, no I/O."""

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from agents.transcripts import Entry

ItemKind = Literal["user", "assistant", "tool", "compaction", "context", "notice", "error"]

# stop_reason → what a reader should know; "stop" (a normal end) says nothing.
STOP_FLAGS = {
    "length": "cut at the output token limit",
    "aborted": "aborted",
    "partial": "partial: the run failed mid-answer",
    "no_reply": "no reply (silent by choice)",
}


USAGE_KEYS = ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_creation_tokens")


@dataclass(frozen=True, slots=True)
class Item:
    """One thing shown in a turn. `text` is Markdown for user/assistant/compaction/context and
    plain text otherwise; a tool item holds the call's arguments and, once known, its result."""

    kind: ItemKind
    entry: int  # 1-based position in the transcript
    ts: str = ""
    text: str = ""
    title: str = ""
    result: str | None = None
    call_id: str = ""
    flags: tuple[str, ...] = ()
    usage: dict[str, int] | None = None


@dataclass(slots=True)
class Turn:
    """A user's message(s) and everything the agent did in answer."""

    number: int
    items: list[Item] = field(default_factory=list)

    @property
    def usage(self) -> dict[str, int]:
        """Tokens of the turn: the sum of its model calls' reported usage."""
        total = dict.fromkeys(USAGE_KEYS, 0)
        for item in self.items:
            for key in total:
                total[key] += int((item.usage or {}).get(key, 0) or 0)
        if not total["cache_creation_tokens"]:  # only providers that bill cache writes say it
            del total["cache_creation_tokens"]
        return total

    @property
    def has_usage(self) -> bool:
        return any(item.usage for item in self.items)


def _usage(value: object) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    return {k: int(value[k]) for k in USAGE_KEYS if isinstance(value.get(k), int)} or None


def _pretty(arguments: object) -> str:
    """Tool arguments as indented JSON when they parse, else as sent."""
    if not isinstance(arguments, str):
        return json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def _flags(entry: Entry) -> tuple[str, ...]:
    flags = []
    stop = STOP_FLAGS.get(str(entry.get("stop_reason", "")))
    if stop:
        flags.append(stop)
    meta = entry.get("meta") or {}
    if meta.get("origin"):  # not typed by a person in this chat
        flags.append(f"from {meta['origin']}")
    if meta.get("skipped"):
        flags.append(f"not answered: {meta['skipped']}")
    if meta.get("truncated_chars"):
        flags.append(f"{meta['truncated_chars']:,} characters not kept")
    return tuple(flags)


def _tool_calls(number: int, entry: Entry) -> list[Item]:
    items = []
    for call in entry.get("tool_calls") or []:
        call = call if isinstance(call, dict) else {}
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        items.append(
            Item(
                "tool",
                number,
                str(entry.get("ts", "")),
                text=_pretty(function.get("arguments", "")),
                title=str(function.get("name") or "tool"),
                call_id=str(call.get("id", "")),
            )
        )
    return items


def _items(number: int, entry: Entry) -> list[Item]:
    """The display items of one entry (an assistant message with tool calls gives several)."""
    kind, ts, flags = entry.get("type"), str(entry.get("ts", "")), _flags(entry)
    text = str(entry.get("content") or "")
    meta: dict[str, Any] = entry.get("meta") or {}
    role = entry.get("role")
    if kind == "message" and role == "user":
        return [Item("user", number, ts, text, flags=flags)]
    if kind == "message" and role == "assistant":
        calls = _tool_calls(number, entry)
        if text or not calls:
            usage = _usage(entry.get("usage"))
            return [Item("assistant", number, ts, text, flags=flags, usage=usage), *calls]
        return calls
    if kind == "tool_result":
        failed = () if meta.get("ok", True) else ("failed",)
        title = str(meta.get("name") or "tool")
        return [Item("tool", number, ts, "", title, result=text, flags=flags + failed)]
    if kind == "compaction":
        summarised = meta.get("summarised_messages")
        title = f"{summarised} earlier messages summarised" if summarised else "Compaction summary"
        return [Item("compaction", number, ts, text, title, flags=flags)]
    if kind == "context":
        return [Item("context", number, ts, text, "Session start context", flags=flags)]
    if kind == "error":
        return [Item("error", number, ts, text, str(meta.get("code") or "error"), flags=flags)]
    if kind == "notice":
        return [Item("notice", number, ts, text, "Notice", flags=flags)]
    shown = {k: v for k, v in entry.items() if k != "ts"}
    dumped = json.dumps(shown, indent=2, ensure_ascii=False, default=str)
    return [Item("notice", number, ts, dumped, f"{kind} entry")]


def _starts_turn(turn: Turn, entry: Entry) -> bool:
    """A user message (or session start context) after the agent acted opens a new turn;
    messages collected together stay in one."""
    opening = entry.get("type") == "context" or (
        entry.get("type") == "message" and entry.get("role") == "user"
    )
    return opening and any(item.kind not in ("user", "context") for item in turn.items)


def build_turns(entries: list[Entry]) -> list[Turn]:
    """Group a transcript into turns; a tool result joins the call it answers."""
    turns = [Turn(1)]
    calls: dict[str, int] = {}  # call id → index of its item in the current turn
    for number, entry in enumerate(entries, start=1):
        turn = turns[-1]
        if _starts_turn(turn, entry):
            turn = Turn(turn.number + 1)
            turns.append(turn)
            calls = {}
        if entry.get("type") == "tool_result":
            call_id = str((entry.get("meta") or {}).get("call_id", ""))
            at = calls.pop(call_id, None)
            if at is not None:
                result = _items(number, entry)[0]
                call = turn.items[at]
                turn.items[at] = replace(
                    call, result=result.result, flags=call.flags + result.flags
                )
                continue
        for item in _items(number, entry):
            if item.kind == "tool" and item.result is None and item.call_id:
                calls[item.call_id] = len(turn.items)
            turn.items.append(item)
    for turn in turns:  # a call never answered (the run stopped) says so
        turn.items[:] = [
            replace(i, flags=(*i.flags, "no result recorded"))
            if i.kind == "tool" and i.result is None
            else i
            for i in turn.items
        ]
    return [t for t in turns if t.items]
