"""`manage.py curate`: one curation inline, its output, and clear errors."""

import datetime as dt
from io import StringIO

import pytest
from django.conf import LazySettings
from django.core.management import CommandError, call_command

from agents.models import Agent
from memory.models import CurationRun
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.memory.test_curation import DAY, MEMORY, PROPOSED, answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(agent: Agent, settings: LazySettings, fake_openai: FakeOpenAI) -> FakeOpenAI:
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENCLAW_MODEL = "gpt-fake"
    settings.OPENCLAW_MODEL_MAX_RETRIES = 0
    (agent.workspace / "MEMORY.md").write_text(MEMORY)
    (agent.workspace / "memory" / f"{DAY}.md").write_text(f"# {DAY}\n\n- Adopted Miso.\n")
    return fake_openai


def test_curate_prints_summary_diff_and_run_id(agent: Agent, ready: FakeOpenAI) -> None:
    ready.script(Text(answer()))
    out = StringIO()
    call_command("curate", "--agent", "ada", "--date", str(DAY), stdout=out)
    run = CurationRun.objects.get()
    text = out.getvalue()
    assert f"Curation run {run.pk} (pending)" in text
    assert "- Talked about the cat Miso." in text and "+- The user's cat is called Miso." in text
    assert (agent.workspace / "MEMORY.md").read_text() == MEMORY


def test_curate_apply_writes_memory(agent: Agent, ready: FakeOpenAI) -> None:
    ready.script(Text(answer()))
    out = StringIO()
    call_command("curate", "--agent", "ada", "--date", str(DAY), "--apply", stdout=out)
    assert "Applied run" in out.getvalue()
    assert (agent.workspace / "MEMORY.md").read_text() == PROPOSED


def test_curate_with_no_log_says_so(ready: FakeOpenAI) -> None:
    out = StringIO()
    call_command("curate", "--agent", "ada", "--date", "2001-01-01", stdout=out)
    assert "Nothing to curate" in out.getvalue() and ready.requests == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--agent", "nobody", "--date", str(DAY)], "No agent 'nobody'"),
        (["--agent", "ada", "--date", "14/03/2026"], "is not a date: use YYYY-MM-DD"),
        (["--agent", "ada", "--date", "2026-02-30"], "is not a date"),
    ],
)
def test_curate_refuses_bad_input(ready: FakeOpenAI, args: list[str], error: str) -> None:
    with pytest.raises(CommandError, match=error):
        call_command("curate", *args)
    assert ready.requests == []


def test_curate_reports_a_model_failure(ready: FakeOpenAI) -> None:
    ready.script(Text("no sections at all"))
    with pytest.raises(CommandError, match=r"Curation failed .*expected format"):
        call_command("curate", "--agent", "ada", "--date", str(DAY))
    assert CurationRun.objects.get().status == CurationRun.Status.FAILED


def test_curate_reuses_the_days_run(ready: FakeOpenAI) -> None:
    ready.script(Text(answer()))
    call_command("curate", "--agent", "ada", "--date", str(DAY), stdout=StringIO())
    out = StringIO()
    call_command("curate", "--agent", "ada", "--date", str(DAY), stdout=out)
    assert len(ready.requests) == 1 and "(pending)" in out.getvalue()
    assert dt.date.fromisoformat(str(DAY)) == CurationRun.objects.get().day
