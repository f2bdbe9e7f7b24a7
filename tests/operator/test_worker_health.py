"""`doctor` and `status` notice background work that stopped (issue 23, part 4): no Celery worker
seen for a day (its heartbeat file), or no curation for two days (the heartbeat's last curation
task or the newest CurationRun), each a warning with its fix."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from django_celery_beat.models import PeriodicTask
from pytest_django.fixtures import Settings

from agents.models import Agent
from gateway.operator.findings import Finding
from gateway.operator.worker_health import worker_findings
from memory.models import CurationRun
from openclaw import heartbeat
from tests.gateway_process import ROOT, base_env, prepare_home

NOW = dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)


def test_doctor_flags_a_state_directory_no_worker_ever_ran_on(
    migrated_home: Path, tmp_path: Path
) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    proc = subprocess.run(
        [sys.executable, "manage.py", "doctor", "--timeout", "1"],
        cwd=ROOT,
        env=base_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert f"WARNING   No Celery worker has ever been seen ({home / heartbeat.FILENAME} is " in out
    assert "fix: Run the gateway without --no-worker" in out
    assert "`celery -A openclaw worker --beat`" in out


@pytest.fixture
def home(settings: Settings, tmp_path: Path) -> Path:
    settings.OPENCLAW_HOME = tmp_path
    settings.OPENCLAW_WORKSPACES = tmp_path / "workspaces"
    return tmp_path


def severities(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.severity, f.what) for f in found]


@pytest.mark.django_db
def test_a_worker_seen_recently_with_no_curation_yet_is_fine(home: Path) -> None:
    heartbeat.record(now=NOW - dt.timedelta(hours=2))
    found = severities(worker_findings(NOW))
    assert found[0][0] == "ok" and found[0][1].startswith("Celery worker seen 2\xa0hours ago")
    assert found[1] == (
        "ok",
        "No curation has run yet: the first runs at 03:30 in each agent's time zone.",
    )


@pytest.mark.django_db
def test_a_worker_not_seen_for_a_day_is_a_warning(home: Path) -> None:
    heartbeat.record(now=NOW - dt.timedelta(days=1, minutes=1))
    [worker, _curation] = worker_findings(NOW)
    assert worker.severity == "warning"
    assert worker.what.startswith("No Celery worker seen for a day: the last one (pid ")
    assert "was seen 1\xa0day" in worker.what


@pytest.mark.django_db
def test_curation_older_than_two_days_is_a_warning(home: Path) -> None:
    heartbeat.record(now=NOW - dt.timedelta(days=3), curation=True)
    heartbeat.record(now=NOW - dt.timedelta(minutes=5))  # the worker itself is alive
    found = worker_findings(NOW)
    assert [f.severity for f in found] == ["ok", "warning"]
    assert found[1].what.startswith("The last curation ran 3\xa0days ago")


@pytest.mark.django_db
def test_a_recent_curation_run_counts_even_without_the_heartbeat(home: Path) -> None:
    heartbeat.record(now=NOW - dt.timedelta(days=5))  # first seen long ago, no curation task
    heartbeat.record(now=NOW - dt.timedelta(minutes=5))
    agent, _ = Agent.objects.get_or_create(slug="main", defaults={"name": "Main"})
    assert worker_findings(NOW)[1].severity == "warning"  # a worker for 5 days, never curated
    run = CurationRun.objects.create(agent=agent, day=NOW.date(), status="pending")
    CurationRun.objects.filter(pk=run.pk).update(created_at=NOW - dt.timedelta(hours=20))
    assert severities(worker_findings(NOW))[1][0] == "ok"


@pytest.mark.django_db
def test_no_curation_warning_when_every_schedule_is_disabled(home: Path) -> None:
    heartbeat.record(now=NOW - dt.timedelta(days=5), curation=True)
    heartbeat.record(now=NOW - dt.timedelta(minutes=5))
    PeriodicTask.objects.filter(task="memory.curate_yesterday").update(enabled=False)
    assert [f.severity for f in worker_findings(NOW)] == ["ok", "ok"]
