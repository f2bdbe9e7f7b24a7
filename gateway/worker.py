"""The embedded Celery worker: on a one-host install the gateway runs one worker with beat
(`gateway.worker_process`) as a child process of its own, so nightly curation and maintenance
happen without a second command. The gateway's supervisor restarts it with backoff when it
dies (chat never depends on it); the gateway stops it on shutdown, and the child ends itself
if the gateway is killed. Off with `manage.py gateway --no-worker` or OPENCLAW_WORKER=0 for
deployments that run `celery -A openclaw worker --beat` separately.
"""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from django.conf import settings

from gateway import worker_process

logger = logging.getLogger(__name__)

TASK_NAME = "celery-worker"  # its name among the supervised tasks (/readyz, `status`)
STOP_GRACE_SECONDS = 10.0  # a warm shutdown finishes the task at hand; then it is killed


class WorkerExited(RuntimeError):
    """The worker ended while the gateway still runs; the supervisor starts it again."""


def command() -> list[str]:
    return [sys.executable, "-m", worker_process.__name__]


def _environment() -> dict[str, str]:
    """The gateway's own environment (the worker reads the same settings), plus its pid and the
    folder holding our packages, so the child imports them whatever its working directory."""
    root = str(Path(worker_process.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, worker_process.PARENT_ENV: str(os.getpid()), "PYTHONPATH": path}


class EmbeddedWorker:
    """One worker child at a time. `run` is the supervised task: it starts the child and waits;
    the child's exit raises WorkerExited (so the supervisor restarts it), unless `stop` asked
    for it. Runs on the gateway's event loop; not thread-safe."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def run(self) -> None:
        if self.stopping:
            return
        # In the state directory: nothing a worker or beat might write lands in the source tree.
        self.process = process = await asyncio.create_subprocess_exec(
            *command(),
            env=_environment(),
            cwd=settings.OPENCLAW_HOME,
            stdin=asyncio.subprocess.DEVNULL,
        )
        logger.info("Celery worker with beat started (pid %s)", process.pid)
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            await self._end(process)
            raise
        if not self.stopping:
            raise WorkerExited(f"the Celery worker (pid {process.pid}) exited with code {code}")

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL after `grace` seconds; no restart after it."""
        self.stopping = True
        if self.process is not None:
            await self._end(self.process, grace)

    @staticmethod
    async def _end(process: asyncio.subprocess.Process, grace: float = STOP_GRACE_SECONDS) -> None:
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            logger.warning("Celery worker (pid %s) ignored SIGTERM; killing it", process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
