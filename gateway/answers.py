"""What a run showed the user, read back from its session's transcript entries: the resume
(`gateway.resume`) and the HTTP API's retried requests (`gateway.httpapi.listener`) share it."""

from agents.transcripts import Entry


def answer_of(entries: list[Entry], run_id: str) -> str | None:
    """What the run showed the user, if it finished (None if it did not). An aborted answer
    whose journal entry is still open was cut by a shutdown, not by the user (a user's abort
    closes the entry at once): it counts as unfinished."""
    if not run_id:
        return None
    mine = [e for e in entries if e.get("run") == run_id]
    errors = [e for e in mine if e["type"] == "error"]
    if errors:
        return f"⚠️ {errors[-1].get('content', 'Something went wrong.')}"
    finals = [e for e in mine if e["type"] == "message" and e.get("stop_reason")]
    if not finals or finals[-1].get("stop_reason") in ("partial", "aborted"):
        return None
    if finals[-1].get("stop_reason") == "no_reply":
        return ""
    said = [
        e.get("content", "")
        for e in mine
        if e["type"] == "message" and e.get("role") == "assistant"
    ]
    return "".join(said)
