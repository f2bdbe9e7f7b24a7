"""The embedded Celery worker of `manage.py gateway` (issue 23, part 4), end to end: started with
the gateway, a scheduled curation run through it on the filesystem broker against the fake
model, restarted after a SIGKILL while the gateway keeps answering, stopped with the gateway
(also when the gateway itself is SIGKILLed: no orphan); `--no-worker` starts none; by default
it is embedded only with the filesystem broker."""

import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory
from tests.fakes.openai_server import FakeOpenAI, Text, user_texts
from tests.gateway_process import Gateway, manage
from tests.memory.test_curation import DAY, MEMORY, answer

CHILD = "worker_process"  # in the embedded worker's command line (python -m …worker_process)


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, …]; None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"  # a zombie has ended


def worker_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or fields[0] == "Z" or int(fields[1]) != parent:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if CHILD in cmdline:
            found.append(int(entry.name))
    return found


def wait_for[T](
    what: str, probe: Callable[[], T | None], timeout: float = 60.0, log: str | Path = ""
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    output = Path(log).read_text(errors="replace") if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{output}")


def heartbeat(home: Path) -> dict[str, object]:
    try:
        data = json.loads((home / "worker.heartbeat.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def worker_ready(gateway: Gateway, not_pid: int = 0) -> int:
    """The pid of the gateway's worker child once it has recorded its heartbeat (it is ready)."""
    assert gateway.proc is not None
    gateway_pid = gateway.proc.pid

    def ready() -> int | None:
        children = [pid for pid in worker_children(gateway_pid) if pid != not_pid]
        if len(children) == 1 and heartbeat(gateway.home).get("pid") == children[0]:
            return children[0]
        return None

    return wait_for("the worker child to be ready", ready, log=gateway.log)


def _answer_curation(body: dict[str, Any]) -> Text:
    system = str((body.get("messages") or [{}])[0].get("content", ""))
    return Text(answer() if "=== SUMMARY ===" in system else "OK")


def curation_runs(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "openclaw.sqlite3") as db:
        rows = db.execute("SELECT day, status, summary FROM memory_curationrun").fetchall()
    return [(str(day), str(status), str(summary)) for day, status, summary in rows]


def test_the_worker_runs_a_scheduled_curation_survives_sigkill_and_stops_with_the_gateway(
    gateway_factory: GatewayFactory, fake_openai: FakeOpenAI
) -> None:
    home = gateway_factory.home
    workspace = home / "workspaces" / "main"
    (workspace / "MEMORY.md").write_text(MEMORY)
    (workspace / "memory" / f"{DAY}.md").write_text(f"# {DAY}\n\n- Adopted a cat, Miso.\n")
    # Curation's call gets the curated answer; any other call (turns the gateway may run at
    # start) a plain one.
    fake_openai.script(*[_answer_curation] * 20)
    # A curation schedule due every second (the nightly one is set for 03:30).
    manage(
        home,
        {},
        "shell",
        "-c",
        "import json\n"
        "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
        "every, _ = IntervalSchedule.objects.get_or_create(every=1, period='seconds')\n"
        "PeriodicTask.objects.create(name='test: curate main', task='memory.curate',\n"
        f"    interval=every, args=json.dumps(['main', '{DAY}']))\n",
    )
    gateway = gateway_factory(OPENCLAW_WORKER="1", OPENCLAW_MODEL_MAX_RETRIES="0")
    assert gateway.proc is not None
    first = worker_ready(gateway)
    assert "Celery worker with beat: embedded" in gateway.output()

    runs = wait_for("the scheduled curation", lambda: curation_runs(home), log=gateway.log)
    assert runs == [(str(DAY), "pending", "- Talked about the cat Miso.")], gateway.output()
    said = [text for r in fake_openai.requests for text in user_texts(r.body)]
    assert any("Adopted a cat, Miso." in text for text in said), said
    assert wait_for("curation in the heartbeat", lambda: heartbeat(home).get("curation"))

    os.kill(first, signal.SIGKILL)
    assert gateway.get("/readyz")[0] == 200  # chat never depends on the worker
    second = worker_ready(gateway, not_pid=first)
    status, body = gateway.get("/readyz")
    task = body["tasks"]["celery-worker"]  # type: ignore[index]
    assert status == 200 and task["restarts"] == 1, body
    assert "exited with code -9" in task["last_error"]

    assert gateway.terminate() == 0, gateway.output()
    assert not alive(second)
    assert not worker_children(gateway.proc.pid)
    assert curation_runs(home) == runs  # the schedule kept firing: the day was done once


def test_a_killed_gateway_takes_its_worker_along(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(OPENCLAW_WORKER="1")
    worker = worker_ready(gateway)
    gateway.kill()  # SIGKILL: no shutdown code runs in the gateway
    wait_for("the orphaned worker to end", lambda: not alive(worker), timeout=30)


def test_no_worker_flag_starts_none(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(start=False, OPENCLAW_WORKER="1")
    gateway.args = ("--no-worker",)
    gateway.start()
    assert gateway.proc is not None
    status, body = gateway.get("/readyz")
    assert status == 200 and "celery-worker" not in body["tasks"], body  # type: ignore[operator]
    time.sleep(1)
    assert worker_children(gateway.proc.pid) == []
    assert "Celery worker: not embedded" in gateway.output()


def test_the_setting_turns_it_off(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(OPENCLAW_WORKER="0")
    status, body = gateway.get("/readyz")
    assert status == 200 and "celery-worker" not in body["tasks"], body  # type: ignore[operator]


@pytest.mark.parametrize(
    ("env", "embedded"),
    [
        ({"OPENCLAW_WORKER": ""}, "True"),  # empty: the default, on with the filesystem broker
        ({"OPENCLAW_WORKER": "", "REDIS_URL": "redis://127.0.0.1:1/0"}, "False"),
        ({"OPENCLAW_WORKER": "1", "REDIS_URL": "redis://127.0.0.1:1/0"}, "True"),
        ({"OPENCLAW_WORKER": "0"}, "False"),
    ],
)
def test_the_worker_is_embedded_by_default_only_with_the_filesystem_broker(
    migrated_home: Path, env: dict[str, str], embedded: str
) -> None:
    code = "from django.conf import settings; print(settings.OPENCLAW_WORKER)"
    assert manage(migrated_home, env, "shell", "-c", code).split()[-1] == embedded
