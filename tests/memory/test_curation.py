"""Nightly curation against the fake model server: parsing, failures that write nothing,
idempotency, apply (with conflict), reject, auto-apply, and the summary found by search."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import LazySettings

from agents.models import Agent
from memory import curation, services
from memory.models import CurationRun
from memory.sync import MemoryConflict
from openclaw.audit.models import AuditEvent
from tests.fakes.openai_server import Error, FakeOpenAI, Hang, Text, Usage

pytestmark = [pytest.mark.services, pytest.mark.django_db]

DAY = dt.date(2026, 3, 14)
MEMORY = "# Memory\n\n- The user likes tea.\n- Meeting with Bob on Friday.\n"
PROPOSED = "# Memory\n\n- The user likes tea.\n- The user's cat is called Miso.\n"


def answer(summary: str = "- Talked about the cat Miso.", memory: str = PROPOSED) -> str:
    return f"=== SUMMARY ===\n{summary}\n=== MEMORY.md ===\n{memory}\n=== END ===\n"


@pytest.fixture
def model(settings: LazySettings, fake_openai: FakeOpenAI) -> FakeOpenAI:
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENCLAW_MODEL = "gpt-fake"
    settings.OPENCLAW_MODEL_MAX_RETRIES = 0
    return fake_openai


@pytest.fixture
def day_log(agent: Agent) -> Path:
    (agent.workspace / "MEMORY.md").write_text(MEMORY)
    log = agent.workspace / "memory" / f"{DAY}.md"
    log.write_text(f"# {DAY}\n\n## 10:00\n\nThe user adopted a cat called Miso.\n")
    return log


@pytest.mark.parametrize(
    ("text", "summary", "memory"),
    [
        (answer(), "- Talked about the cat Miso.", PROPOSED),
        # Chatter around the sections and a fenced MEMORY.md are tolerated.
        (
            "Sure!\n== summary ==\n- s\n=== MEMORY ===\n```markdown\n# M\n```\n=== END ===\nBye",
            "- s",
            "# M\n",
        ),
    ],
)
def test_parse_answer_reads_the_two_sections(text: str, summary: str, memory: str) -> None:
    proposal = curation.parse_answer(text, cap=8000, current=MEMORY)
    assert (proposal.summary, proposal.memory) == (summary, memory)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("I think the day went well.", "not in the expected format"),
        ("=== SUMMARY ===\n- s\n=== MEMORY.md ===\n# M\n", "cut off"),  # no END: truncated
        ("=== MEMORY.md ===\n# M\n=== SUMMARY ===\n- s\n=== END ===", "expected format"),
        (answer(summary=""), "summary is empty"),
        (answer(memory=""), "empty MEMORY.md"),
        (answer(memory="x" * 9000), "limit is 8,000"),
    ],
)
def test_parse_answer_refuses_garbage(text: str, error: str) -> None:
    with pytest.raises(curation.CurationError, match=error):
        curation.parse_answer(text, cap=8000, current=MEMORY)


def test_a_curation_proposes_a_diff_and_files_the_summary(
    agent: Agent, day_log: Path, model: FakeOpenAI
) -> None:
    model.script(Text(answer(), usage=Usage(prompt_tokens=321, completion_tokens=45)))
    run = curation.curate(agent, DAY)
    assert run is not None and run.status == CurationRun.Status.PENDING
    assert (run.summary, run.proposed_text) == ("- Talked about the cat Miso.", PROPOSED)
    assert (run.tokens_in, run.tokens_out, run.model) == (321, 45, "gpt-fake")
    assert "-- Meeting with Bob on Friday.\n" in run.diff
    assert "+- The user's cat is called Miso.\n" in run.diff
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY  # nothing applied yet
    sent = model.requests[0].body["messages"]
    assert "adopted a cat called Miso" in sent[1]["content"]
    assert "Meeting with Bob" in sent[1]["content"]
    log = day_log.read_text()
    assert "## 23:59 — nightly summary\n\n- Talked about the cat Miso.\n" in log
    hits = services.search_memory(agent, "Talked cat").hits
    assert [h.path for h in hits][:1] == [f"memory/{DAY}.md"]


def test_running_twice_is_a_no_op(agent: Agent, day_log: Path, model: FakeOpenAI) -> None:
    model.script(Text(answer()))
    first = curation.curate(agent, DAY)
    again = curation.curate(agent, DAY)
    assert first is not None and again is not None and again.pk == first.pk
    assert len(model.requests) == 1
    assert day_log.read_text().count("nightly summary") == 1


def test_no_log_means_no_model_call_and_no_run(agent: Agent, model: FakeOpenAI) -> None:
    (agent.workspace / "memory" / f"{DAY}.md").write_text(f"# {DAY}\n")  # a title only
    assert curation.curate(agent, DAY) is None
    assert curation.curate(agent, DAY - dt.timedelta(days=1)) is None  # no file at all
    assert model.requests == [] and not CurationRun.objects.exists()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Text("Here is my summary: all good."), "not in the expected format"),
        (Error(500, "boom"), "HTTP 500"),
    ],
)
def test_a_failed_run_is_recorded_and_writes_nothing(
    agent: Agent, day_log: Path, model: FakeOpenAI, reply: object, error: str
) -> None:
    before = day_log.read_text()
    model.script(reply)  # type: ignore[arg-type]  # a scripted reply
    run = curation.curate(agent, DAY)
    assert run is not None and run.status == CurationRun.Status.FAILED
    assert error in run.error
    assert day_log.read_text() == before
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY
    # A failed day is tried again (and may succeed) on the next run.
    model.script(Text(answer()))
    retried = curation.curate(agent, DAY)
    assert retried is not None and retried.status == CurationRun.Status.PENDING


def test_a_model_that_never_answers_gives_a_failed_run(
    agent: Agent, day_log: Path, model: FakeOpenAI, settings: LazySettings
) -> None:
    settings.OPENCLAW_STREAM_IDLE_TIMEOUT = 0.5
    settings.OPENCLAW_MODEL_TIMEOUT = 0.5
    model.script(Hang())
    run = curation.curate(agent, DAY)
    assert run is not None and run.status == CurationRun.Status.FAILED
    assert "timeout" in run.error
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY


def test_apply_writes_memory_through_the_service(
    agent: Agent, day_log: Path, model: FakeOpenAI
) -> None:
    model.script(Text(answer()))
    run = curation.curate(agent, DAY)
    assert run is not None
    applied = curation.apply_run(run.pk, "cli:operator")
    assert applied.status == CurationRun.Status.APPLIED and applied.decided_by == "cli:operator"
    assert (agent.workspace / "MEMORY.md").read_text() == PROPOSED
    assert services.read_working_memory(agent).updated_by == "cli:operator"
    assert AuditEvent.objects.filter(action="curation.applied").count() == 1
    with pytest.raises(curation.CurationRefused, match="applied"):
        curation.reject_run(run.pk, "cli:operator")


def test_apply_after_memory_changed_is_a_conflict_and_stays_pending(
    agent: Agent, day_log: Path, model: FakeOpenAI
) -> None:
    model.script(Text(answer()))
    run = curation.curate(agent, DAY)
    assert run is not None
    (agent.workspace / "MEMORY.md").write_text(MEMORY + "- Edited meanwhile.\n")
    with pytest.raises(MemoryConflict):
        curation.apply_run(run.pk, "cli:operator")
    run.refresh_from_db()
    assert run.status == CurationRun.Status.PENDING and "changed since" in run.error
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY + "- Edited meanwhile.\n"


def test_reject_leaves_memory_alone(agent: Agent, day_log: Path, model: FakeOpenAI) -> None:
    model.script(Text(answer()))
    run = curation.curate(agent, DAY)
    assert run is not None
    rejected = curation.reject_run(run.pk, "cli:operator")
    assert rejected.status == CurationRun.Status.REJECTED and rejected.decided_at is not None
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY
    assert AuditEvent.objects.filter(action="curation.rejected").count() == 1
    with pytest.raises(curation.CurationRefused):
        curation.apply_run(run.pk, "cli:operator")


def test_auto_apply_writes_at_once(agent: Agent, day_log: Path, model: FakeOpenAI) -> None:
    agent.curation_auto_apply = True
    agent.save()
    model.script(Text(answer()))
    run = curation.curate(agent, DAY)
    assert run is not None and run.status == CurationRun.Status.APPLIED
    assert run.decided_by == "curation:auto-apply"
    assert (agent.workspace / "MEMORY.md").read_text() == PROPOSED


def test_the_nightly_task_curates_yesterday_in_the_agents_time_zone(
    agent: Agent, model: FakeOpenAI
) -> None:
    from memory.sync import agent_today
    from memory.tasks import curate_yesterday

    agent.timezone = "Pacific/Kiritimati"  # UTC+14: its yesterday is often UTC's today
    agent.save()
    yesterday = agent_today(agent) - dt.timedelta(days=1)
    (agent.workspace / "memory" / f"{yesterday}.md").write_text(f"# {yesterday}\n\n- Tea.\n")
    model.script(Text(answer()))
    run_id = curate_yesterday("ada")
    assert run_id is not None
    run = CurationRun.objects.get(pk=run_id)
    assert run.day == yesterday and run.status == CurationRun.Status.PENDING
    assert curate_yesterday("ada") == run_id and len(model.requests) == 1
