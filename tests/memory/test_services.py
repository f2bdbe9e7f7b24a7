"""Memory operations: timestamped appends, capped MEMORY.md edits, file slices, the context
offered at session start, and the flush before compaction (including its fallback)."""

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings

from agents.models import Agent
from agents.services import NotFound
from memory import services
from memory.files import UnsafePath
from memory.services import MemoryRefused

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _log(agent: Agent, day: str) -> Path:
    return agent.workspace / "memory" / f"{day}.md"


def test_append_uses_the_agent_time_zone_for_the_day_and_time(
    agent: Agent, settings: LazySettings
) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    late_evening_utc = dt.datetime(2024, 3, 1, 20, 30, tzinfo=dt.UTC)  # 05:30 next day in Tokyo
    result = services.append_daily_log(agent, "Booked the ryokan.", late_evening_utc)
    assert result.path == "memory/2024-03-02.md"
    assert _log(agent, "2024-03-02").read_text() == (
        "# 2024-03-02\n\n## 05:30\n\nBooked the ryokan.\n"
    )


def test_appends_accumulate_below_what_was_there(agent: Agent) -> None:
    path = _log(agent, "2024-03-02")
    path.write_text("# 2024-03-02\n\nWritten by hand.")
    when = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)
    services.append_daily_log(agent, "first", when)
    services.append_daily_log(agent, "second", when + dt.timedelta(minutes=5), title="call")
    assert path.read_text() == (
        "# 2024-03-02\n\nWritten by hand.\n\n## 09:00\n\nfirst\n\n## 09:05 — call\n\nsecond\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "empty"), ("x" * (services.APPEND_MAX_CHARS + 1), "limit is 8,000")],
)
def test_append_refuses_empty_or_huge_entries(agent: Agent, text: str, message: str) -> None:
    with pytest.raises(MemoryRefused, match=message):
        services.append_daily_log(agent, text)


def test_edit_replaces_exactly_one_occurrence(agent: Agent) -> None:
    (agent.workspace / "MEMORY.md").write_text("- likes tea\n- lives in Lyon\n")
    services.edit_working_memory(agent, "Lyon", "Lisbon", "agent")
    assert (agent.workspace / "MEMORY.md").read_text() == "- likes tea\n- lives in Lisbon\n"


@pytest.mark.parametrize(
    ("old", "message"),
    [("", "old_text is empty"), ("coffee", "was not found"), ("- ", "occurs 2 times")],
)
def test_edit_refuses_missing_or_ambiguous_text(agent: Agent, old: str, message: str) -> None:
    (agent.workspace / "MEMORY.md").write_text("- likes tea\n- lives in Lyon\n")
    with pytest.raises(MemoryRefused, match=message):
        services.edit_working_memory(agent, old, "x", "agent")


def test_memory_past_the_cap_is_refused_with_advice_to_curate(agent: Agent) -> None:
    (agent.workspace / "MEMORY.md").write_text("- fact\n")
    with pytest.raises(MemoryRefused) as refused:
        services.write_working_memory(agent, "y" * 101, None, "agent", cap=100)
    assert "would be 101 characters and the limit is 100" in str(refused.value)
    assert "sent with every prompt" in str(refused.value)
    assert "Curate" in str(refused.value)
    assert (agent.workspace / "MEMORY.md").read_text() == "- fact\n"


def test_an_oversized_memory_can_still_be_shrunk(agent: Agent) -> None:
    (agent.workspace / "MEMORY.md").write_text("a" * 100 + "b" * 100 + "c" * 100)
    services.edit_working_memory(agent, "b" * 100, "", "agent", cap=100)
    assert (agent.workspace / "MEMORY.md").read_text() == "a" * 100 + "c" * 100
    with pytest.raises(MemoryRefused):
        services.edit_working_memory(agent, "a" * 100, "a" * 101, "agent", cap=100)


def test_get_memory_file_returns_line_slices(agent: Agent) -> None:
    _log(agent, "2024-01-05").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    part = services.get_memory_file(agent, "memory/2024-01-05.md", 4, 3)
    assert (part.from_line, part.to_line, part.total_lines) == (4, 6, 10)
    assert part.text == "line 4\nline 5\nline 6"
    whole = services.get_memory_file("ada", "memory/2024-01-05.md")
    assert whole.text.count("\n") == 9


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../../etc/passwd", UnsafePath),
        ("AGENTS.md", UnsafePath),
        ("memory/2024-01-06.md", NotFound),
    ],
)
def test_get_memory_file_refuses_other_paths(
    agent: Agent, path: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        services.get_memory_file(agent, path)


def test_get_memory_file_only_reads_this_agents_memory(agent: Agent) -> None:
    other = Agent.objects.create(slug="bob", name="Bob")
    (other.workspace / "memory").mkdir(parents=True)
    (other.workspace / "MEMORY.md").write_text("bob's secret\n")
    (agent.workspace / "MEMORY.md").write_text("ada's notes\n")
    assert services.get_memory_file(agent, "MEMORY.md").text == "ada's notes"


def test_session_start_context_offers_today_then_yesterday_within_the_cap(agent: Agent) -> None:
    entries = "".join(f"- entry {n:02d}\n" for n in range(1, 21))
    _log(agent, "2024-04-09").write_text(f"# 2024-04-09\n\n{entries}")
    _log(agent, "2024-04-10").write_text("# 2024-04-10\n\ntoday's plan\n")
    _log(agent, "2024-04-08").write_text("# 2024-04-08\n\ntoo old\n")
    today = dt.date(2024, 4, 10)
    full = services.session_start_context("ada", 1000, today)
    assert full.index("memory/2024-04-09.md (yesterday)") < full.index("memory/2024-04-10.md")
    assert "today's plan" in full
    assert "too old" not in full
    assert "entry 01" in full
    tight = services.session_start_context("ada", 200, today)
    assert len(tight) <= 200
    assert "today's plan" in tight
    assert "entry 20" in tight
    assert "entry 01" not in tight
    assert "earlier lines omitted; memory_get memory/2024-04-09.md" in tight
    assert services.session_start_context("ada", 1000, dt.date(2030, 1, 1)) == ""


def test_flush_notes_append_to_today_and_nothing_means_nothing(agent: Agent) -> None:
    when = dt.datetime(2024, 4, 10, 18, 0, tzinfo=dt.UTC)
    assert services.flush_notes("ada", "- The user's sister is called Inês.", when)
    text = _log(agent, "2024-04-10").read_text()
    assert "## 18:00 — notes before compaction" in text
    assert "Inês" in text
    for answer in ("NOTHING", " nothing. ", ""):
        assert not services.flush_notes("ada", answer, when)
    assert _log(agent, "2024-04-10").read_text() == text


def test_fallback_keeps_every_word_the_user_said(agent: Agent) -> None:
    secret_plan = "Remember: the spare key is under the blue pot.\nAnd the alarm code is 4812."
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": secret_plan},
        {
            "role": "assistant",
            "content": "Noted! " * 200,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "memory_search"}}],
        },
        {"role": "tool", "name": "memory_search", "content": "no matches " * 50},
        {"type": "message", "role": "user", "content": [{"type": "text", "text": "Also: tea."}]},
    ]
    when = dt.datetime(2024, 4, 10, 18, 5, tzinfo=dt.UTC)
    assert services.compact_transcript_fallback("ada", messages, when)
    text = _log(agent, "2024-04-10").read_text()
    assert "## 18:05 — conversation before compaction" in text
    assert (
        "- **user:** Remember: the spare key is under the blue pot.\n  And the alarm code is 4812."
        in text
    )
    assert "Also: tea." in text
    assert "You are helpful" not in text
    assert "(called memory_search)" in text
    assert len(text) < 1500  # the assistant and tool turns are shortened


def test_fallback_splits_long_conversations_without_cutting_user_text(agent: Agent) -> None:
    words = [f"word{n}" for n in range(4000)]
    messages = [
        {"role": "user", "content": " ".join(words[i : i + 400])} for i in range(0, 4000, 400)
    ]
    when = dt.datetime(2024, 4, 10, 18, 5, tzinfo=dt.UTC)
    services.compact_transcript_fallback("ada", messages, when)
    text = _log(agent, "2024-04-10").read_text()
    assert all(w in text for w in words)
    assert "conversation before compaction (1/" in text
    assert not services.compact_transcript_fallback("ada", [{"role": "system", "content": "x"}])


def test_deleted_memory_file_reads_as_empty_and_missing(agent: Agent) -> None:
    memory = agent.workspace / "MEMORY.md"
    memory.write_text("- likes tea\n")
    assert services.read_working_memory(agent).content == "- likes tea\n"
    memory.unlink()
    current = services.read_working_memory(agent)
    assert (current.content, current.missing) == ("", True)
    assert not memory.exists()
