"""Beat schedules: created with agents (and at migrate), kept when edited, removed with the
agent; and a real `celery beat` + `celery worker` pair running a due schedule into a
CurationRun against the fake model (filesystem broker; Redis in the services run)."""

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import LazySettings
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from agents.models import Agent
from memory import beat_schedules as schedules
from tests.fakes.openai_server import FakeOpenAI, Text
from tests.gateway_process import ROOT, base_env, prepare_home
from tests.memory.test_curation import DAY, MEMORY, answer


@pytest.mark.django_db
def test_an_agent_gets_a_nightly_curation_in_its_time_zone(workspaces: Path) -> None:
    agent = Agent.objects.create(slug="eve", name="Eve", timezone="Pacific/Auckland")
    task = PeriodicTask.objects.get(name="curation: eve")
    assert (task.task, json.loads(task.args), task.enabled) == (
        "memory.curate_yesterday",
        ["eve"],
        True,
    )
    assert task.crontab is not None
    assert (task.crontab.hour, task.crontab.minute) == ("3", "30")
    assert str(task.crontab.timezone) == "Pacific/Auckland"
    agent.delete()
    assert not PeriodicTask.objects.filter(name="curation: eve").exists()


@pytest.mark.django_db
def test_an_operators_edit_is_kept(workspaces: Path, settings: LazySettings) -> None:
    agent = Agent.objects.create(slug="eve", name="Eve")
    task = PeriodicTask.objects.get(name="curation: eve")
    task.crontab = CrontabSchedule.objects.create(minute="15", hour="1", timezone="UTC")
    task.enabled = False
    task.save()
    settings.OPENCLAW_CURATION_TIME = "05:00"
    schedules.ensure_all_schedules()  # what every `migrate` runs
    task.refresh_from_db()
    assert task.crontab is not None and (task.crontab.hour, task.crontab.minute) == ("1", "15")
    assert task.enabled is False
    assert schedules.ensure_curation_schedule(agent).pk == task.pk


@pytest.mark.django_db
def test_migrate_schedules_existing_agents_and_maintenance() -> None:
    PeriodicTask.objects.all().delete()
    Agent.objects.bulk_create([Agent(slug="old", name="Old")])  # no signal: like a legacy row
    schedules.ensure_all_schedules()
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {"curation: old", "memory: consistency check", "memory: retention"} <= names
    tasks = dict(PeriodicTask.objects.values_list("name", "task"))
    assert tasks["memory: retention"] == "memory.retention"
    assert tasks["memory: consistency check"] == "memory.check"


def _celery(home: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "openclaw", *args, "--loglevel", "INFO"],
        cwd=home,  # beat and worker leave nothing in the source tree
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _shell(home: Path, env: dict[str, str], code: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def _runs(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "openclaw.sqlite3") as db:
        rows = db.execute("SELECT day, status, summary FROM memory_curationrun").fetchall()
    return [(str(day), str(status), str(summary)) for day, status, summary in rows]


@pytest.mark.services
def test_real_beat_and_worker_run_a_due_schedule_into_a_curation_run(
    migrated_home: Path, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    env = base_env(
        home,
        OPENAI_BASE_URL=fake_openai.base_url,
        OPENAI_API_KEY="sk-test",
        OPENCLAW_MODEL="gpt-fake",
        OPENCLAW_MODEL_MAX_RETRIES="0",
    )
    workspace = home / "workspaces" / "main"
    (workspace / "MEMORY.md").write_text(MEMORY)
    (workspace / "memory" / f"{DAY}.md").write_text(f"# {DAY}\n\n- Adopted a cat, Miso.\n")
    fake_openai.script(Text(answer()))
    # `migrate` gave the default agent its nightly schedule; add one due every second for DAY.
    _shell(
        home,
        env,
        "import json\n"
        "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
        "assert PeriodicTask.objects.filter(name='curation: main', enabled=True).exists()\n"
        "every, _ = IntervalSchedule.objects.get_or_create(every=1, period='seconds')\n"
        "PeriodicTask.objects.create(name='test: curate main', task='memory.curate',\n"
        f"    interval=every, args=json.dumps(['main', '{DAY}']))\n",
    )
    worker = _celery(home, env, "worker", "--pool", "solo", "--without-gossip", "--without-mingle")
    beat = _celery(home, env, "beat", "--max-interval", "1")
    try:
        deadline = time.monotonic() + 60
        runs: list[tuple[str, str, str]] = []
        while time.monotonic() < deadline and not runs:
            time.sleep(0.5)
            runs = _runs(home)
        # The schedule keeps firing every second: later runs find the day done (idempotent).
        time.sleep(3)
        runs = _runs(home)
    finally:
        beat.terminate()
        worker.terminate()
        beat_log = beat.communicate(timeout=30)[0]
        worker_log = worker.communicate(timeout=30)[0]
    assert runs == [(str(DAY), "pending", "- Talked about the cat Miso.")], (beat_log, worker_log)
    assert len(fake_openai.requests) == 1
    assert "memory.curate" in beat_log and "succeeded" in worker_log
    log = (workspace / "memory" / f"{DAY}.md").read_text()
    assert log.count("nightly summary") == 1
    assert dt.date.fromisoformat(runs[0][0]) == DAY


@pytest.mark.django_db
def test_the_consistency_check_reports_changed_and_missing_files(workspaces: Path) -> None:
    from memory import services
    from memory.tasks import check_memory

    agent = Agent.objects.create(slug="eve", name="Eve")
    (agent.workspace / "memory").mkdir(parents=True, exist_ok=True)
    check_memory()
    settled = check_memory()  # rows for every known file exist now
    log = agent.workspace / "memory" / "2020-01-01.md"
    log.write_text("# 2020-01-01\n\n- the axolotl is called Pip\n")
    assert check_memory() == {"changed": 1, "missing": settled["missing"]}
    assert [h.path for h in services.search_memory(agent, "axolotl").hits] == [
        "memory/2020-01-01.md"
    ]
    log.unlink()
    gone = check_memory()
    assert gone == {"changed": 1, "missing": settled["missing"] + 1}
    assert check_memory() == {"changed": 0, "missing": gone["missing"]}  # nothing new
