"""Admin test helpers: sessions with a transcript written the way the agent loop writes it."""

from decimal import Decimal

import pytest

from agents.models import Session
from agents.services import ensure_default_agent, open_session
from agents.transcripts import Entry, append_entries, make_entry


def tool_round(run: str, call_id: str, name: str, arguments: str, result: str) -> list[Entry]:
    """An assistant message calling one tool, then the tool's result (as agents.loop writes)."""
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return [
        make_entry("message", role="assistant", content="", run=run, tool_calls=[call]),
        make_entry(
            "tool_result",
            content=result,
            run=run,
            meta={"call_id": call_id, "name": name, "ok": True},
        ),
    ]


def final(run: str, text: str, prompt: int = 100, completion: int = 20, cached: int = 0) -> Entry:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_tokens": cached,
    }
    return make_entry(
        "message", role="assistant", content=text, run=run, usage=usage, stop_reason="stop"
    )


@pytest.fixture
def session_with(db: None) -> "SessionFactory":
    return SessionFactory()


class SessionFactory:
    def __call__(self, entries: list[Entry], key: str = "agent:main:main") -> Session:
        ensure_default_agent()
        ref, _ = open_session(key)
        session = Session.objects.get(pk=ref.pk)
        if entries:
            append_entries(session.transcript_file, entries)
        Session.objects.filter(pk=session.pk).update(cost=Decimal("0.5"))
        return session
