"""The Celery workers' heartbeat: a small JSON file in the state directory saying when a worker was
last seen (at start and after every task, beat's `openclaw.heartbeat` included) and when curation
last ran. `doctor` and `status` read it to notice a worker or curation that stopped.

One file per state directory, as the gateway is one per host; a worker on another host writes
its own (a deployment that runs workers elsewhere checks them there).
"""

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.signals import task_postrun, worker_ready
from django.conf import settings

FILENAME = "worker.heartbeat.json"
HEARTBEAT_TASK = "openclaw.heartbeat"
HEARTBEAT_SECONDS = 600.0  # beat's period for the heartbeat task
# Added to beat's schedule (openclaw.celery): django-celery-beat keeps it as a periodic task.
BEAT_SCHEDULE = {
    "openclaw: worker heartbeat": {"task": HEARTBEAT_TASK, "schedule": HEARTBEAT_SECONDS}
}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the file says; every time is aware (UTC), None when never recorded."""

    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    host: str = ""
    pid: int | None = None
    curation: dt.datetime | None = None


def path() -> Path:
    return Path(settings.OPENCLAW_HOME) / FILENAME


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _load(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read() -> Heartbeat:
    """The recorded heartbeat (all None when no worker wrote one, or the file is unreadable)."""
    data = _load(path())
    pid = data.get("pid")
    return Heartbeat(
        first_seen=_time(data.get("first_seen")),
        last_seen=_time(data.get("last_seen")),
        host=str(data.get("host") or ""),
        pid=pid if isinstance(pid, int) else None,
        curation=_time(data.get("curation")),
    )


@contextlib.contextmanager
def _locked(file: Path) -> Iterator[None]:
    """Serialises read-modify-write between the threads and processes of workers."""
    fd = os.open(file.with_name(file.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def record(*, curation: bool = False, now: dt.datetime | None = None) -> None:
    """This worker is alive now (and, with `curation`, a curation task just ran). Atomic: the
    file is replaced, never seen half-written. Blocking file I/O: call it from worker code."""
    file = path()
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat()
    with _locked(file):
        data = _load(file)
        data.setdefault("first_seen", stamp)
        data.update(last_seen=stamp, host=socket.gethostname(), pid=os.getpid())
        if curation:
            data["curation"] = stamp
        temp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temp, file)


@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def heartbeat() -> None:
    """Scheduled by beat: its run (recorded by `_task_done`) proves beat, broker and worker work."""


@worker_ready.connect
def _worker_ready(**_: Any) -> None:
    record()


@task_postrun.connect
def _task_done(task: Any = None, state: str = "", **_: Any) -> None:
    curated = state == "SUCCESS" and str(getattr(task, "name", "")).startswith("memory.curate")
    record(curation=curated)
