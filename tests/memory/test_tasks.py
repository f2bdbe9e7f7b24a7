"""Memory tasks: called directly, and run by a real Celery worker on the filesystem broker."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memory import services
from memory.tasks import reindex_memory, sync_memory
from tests.gateway_process import ROOT, base_env, prepare_home


@pytest.mark.django_db
def test_tasks_called_directly_are_idempotent(tmp_path: Path, settings: object) -> None:
    from agents.services import ensure_default_agent

    agent = ensure_default_agent()
    (agent.workspace / "MEMORY.md").write_text("# Memory\n\nThe quokka lives on Rottnest.\n")
    assert sync_memory() >= 1
    assert sync_memory() == 0  # a second run finds nothing new
    first = reindex_memory("main")
    assert reindex_memory("main") == first
    assert [h.path for h in services.search_memory(agent, "quokka").hits] == ["MEMORY.md"]


def _manage(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.services
def test_a_real_worker_runs_a_queued_task_from_the_filesystem_broker(
    migrated_home: Path, tmp_path: Path
) -> None:
    home = prepare_home(migrated_home, tmp_path / "home")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "openclaw",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=base_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # An old daily log written on disk: only a sync (the task's) gives it a row. (A search
        # would sync it too, so the row is read from the database, not searched for.)
        old_log = home / "workspaces" / "main" / "memory" / "2020-01-01.md"
        old_log.write_text("# 2020-01-01\n\nThe axolotl is called Pip.\n")
        rows = "from memory.models import DailyLog; print(DailyLog.objects.count())"
        before = _manage(home, "shell", "-c", rows)
        assert before.stdout.split()[-1] == "0", before.stderr
        queued = _manage(
            home, "shell", "-c", "from memory.tasks import sync_memory; sync_memory.delay()"
        )
        assert queued.returncode == 0, queued.stderr
        deadline = time.monotonic() + 30
        synced = False
        while time.monotonic() < deadline and not synced:
            synced = _manage(home, "shell", "-c", rows).stdout.split()[-1:] == ["1"]
            time.sleep(0.5)
        assert synced, "the worker never ran the task"
        found = _manage(home, "memory", "search", "axolotl", "--json")
        assert json.loads(found.stdout)["hits"][0]["path"] == "memory/2020-01-01.md"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0]
    assert worker.returncode == 0, output
