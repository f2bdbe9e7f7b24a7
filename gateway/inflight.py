"""The answer each session is producing right now, so a client that reconnects mid-stream can
re-attach (`chat.attach`) and lose nothing.

Every run event passes through `observe` on its way to the channel layer (`events.LayerSink`).
The running run's text, tool calls and pending approval are kept until its `chat.final` or
`chat.error` (or until its job ends, whatever happened), split into segments at the tool calls
(the text of each model call; a page shows them as separate paragraphs). Each `chat.delta` is
stamped with `seq`, its index within the run: a snapshot says how many deltas its text holds,
so the client drops the deltas it already has, whichever way the race between subscribing and
streaming went.

One gateway process runs every lane, so plain process memory is the right place. Lanes run one
run at a time per session: at most one live run per session key.
"""

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

ENDS = frozenset({"chat.final", "chat.error"})
_ID_FIELDS = ("run", "session")


@dataclass
class LiveRun:
    run: str
    parts: list[str] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)  # indexes in `parts` where a round began
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)  # call id -> latest state
    approval: dict[str, Any] | None = None  # the approval awaiting a decision, if any

    def snapshot(self) -> dict[str, Any]:
        starts = [0, *self.rounds, len(self.parts)]
        segments = ["".join(self.parts[a:b]) for a, b in pairwise(starts)]
        return {
            "run": self.run,
            "text": "".join(self.parts),
            "segments": [s for s in segments if s],
            "seq": len(self.parts),
            "tools": list(self.tools.values()),
            "approval": self.approval,
        }


_live: dict[str, LiveRun] = {}


def _details(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _ID_FIELDS}


def observe(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Record a run event; returns the data to send (a `chat.delta` gains its `seq`)."""
    session, run = data.get("session"), data.get("run")
    if not isinstance(session, str) or not isinstance(run, str):
        return data
    live = _live.get(session)
    if event in ENDS:
        if live is not None and live.run == run:
            del _live[session]
        return data
    if event not in ("chat.delta", "chat.tool", "chat.approval"):
        return data
    if live is None or live.run != run:  # a new run: the session's previous one has ended
        live = _live[session] = LiveRun(run)
    if event == "chat.delta":
        stamped = {**data, "seq": len(live.parts)}
        live.parts.append(str(data.get("text", "")))
        return stamped
    if event == "chat.tool":
        call_id = str(data.get("call_id", ""))
        if len(live.parts) > (live.rounds[-1] if live.rounds else 0):
            live.rounds.append(len(live.parts))  # text after the tools is a new round
        live.tools[call_id] = {**live.tools.get(call_id, {}), **_details(data)}
    elif data.get("status") == "pending":
        live.approval = _details(data)
    elif live.approval is not None and live.approval.get("approval") == data.get("approval"):
        live.approval = None
    return data


def end(session_key: str) -> None:
    """Forget the session's live run: its job is over, even if it never sent a last event."""
    _live.pop(session_key, None)


def snapshot(session_key: str) -> dict[str, Any] | None:
    """The live run of a session: its id, text so far, `seq` (deltas in that text), tool
    calls and pending approval; None when nothing is streaming."""
    live = _live.get(session_key)
    return live.snapshot() if live is not None else None
