"""A small supervisor: named long-lived coroutines kept running, a crashed one restarted with
backoff, each with a state the status report and `/readyz` show."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

TaskFactory = Callable[[], Awaitable[None]]


@dataclass
class SupervisedTask:
    name: str
    factory: TaskFactory
    task: asyncio.Task[None] | None = None
    restarts: int = 0
    state: str = "stopped"
    last_error: str = ""


@dataclass
class Supervisor:
    """Keeps named long-lived coroutines running, restarting a crashed one with backoff."""

    max_backoff: float = 60.0
    # A task that ran this long before crashing was healthy: its next restart is quick again.
    healthy_after: float = 300.0
    tasks: dict[str, SupervisedTask] = field(default_factory=dict)

    def add(self, name: str, factory: TaskFactory) -> None:
        entry = SupervisedTask(name, factory)
        self.tasks[name] = entry
        entry.task = asyncio.create_task(self._keep(entry), name=f"supervised:{name}")

    async def _keep(self, entry: SupervisedTask) -> None:
        delay = 1.0
        loop = asyncio.get_running_loop()
        while True:
            entry.state = "running"
            started = loop.time()
            try:
                await entry.factory()
                entry.state = "finished"
                return
            except asyncio.CancelledError:
                entry.state = "stopped"
                raise
            except Exception as exc:
                entry.restarts += 1
                entry.state = "restarting"
                entry.last_error = f"{type(exc).__name__}: {exc}"
                if loop.time() - started >= self.healthy_after:
                    delay = 1.0
                logger.exception("Task %s crashed; restarting in %.0f s", entry.name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)

    async def stop(self) -> None:
        tasks = [e.task for e in self.tasks.values() if e.task is not None and not e.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    def report(self) -> dict[str, Any]:
        return {
            name: {"state": e.state, "restarts": e.restarts, "last_error": e.last_error}
            for name, e in self.tasks.items()
        }
