"""The gateway runtime: long-lived work that starts with the server and stops on SIGTERM.

`runtime` is the process-wide instance. `start()` and `stop()` run on the server's asyncio loop
(the `gateway` command hooks them into Daphne's reactor; tests call them directly).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from agents.llm import ChatModel, OpenAIChatModel
from gateway.lanes import Lanes, LanesClosed
from gateway.resume import pending_runs
from memory.sync import watch_memory
from openclaw.celery import BrokerWatch

if TYPE_CHECKING:
    from gateway.connections import PlatformConnection

logger = logging.getLogger(__name__)

State = Literal["stopped", "starting", "running", "stopping"]
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
    tasks: dict[str, SupervisedTask] = field(default_factory=dict)

    def add(self, name: str, factory: TaskFactory) -> None:
        entry = SupervisedTask(name, factory)
        self.tasks[name] = entry
        entry.task = asyncio.create_task(self._keep(entry), name=f"supervised:{name}")

    async def _keep(self, entry: SupervisedTask) -> None:
        delay = 1.0
        while True:
            entry.state = "running"
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


class GatewayRuntime:
    def __init__(self) -> None:
        self.state: State = "stopped"
        # Channel-layer group of this process's sockets (unique: a Redis layer may be shared).
        self.sockets_group = f"gateway.sockets.{uuid.uuid4().hex}"
        self.model: ChatModel = OpenAIChatModel()
        self._lanes: Lanes | None = None
        self.supervisor = Supervisor()
        self.connections: dict[tuple[str, str], PlatformConnection] = {}
        self.broker = BrokerWatch()  # informational: chat never depends on Celery

    @property
    def lanes(self) -> Lanes:
        if self._lanes is None or self.state != "running":
            raise LanesClosed("The gateway runtime is not running.")
        return self._lanes

    async def start(self, *, background: bool = True) -> None:
        """Start the lanes and, unless `background` is False (tests), the long-lived tasks."""
        if self.state != "stopped":
            return
        self.state = "starting"
        self._lanes = Lanes(
            max_concurrent=settings.OPENCLAW_MAX_CONCURRENT_RUNS,
            backstop_seconds=settings.OPENCLAW_RUN_DEADLINE + 30,
        )
        self.supervisor = Supervisor()
        if background:
            interval = settings.OPENCLAW_MEMORY_SCAN_SECONDS
            self.supervisor.add("memory-watch", lambda: watch_memory(interval))
            every = settings.OPENCLAW_BROKER_CHECK_SECONDS
            self.supervisor.add("broker-watch", lambda: self.broker.watch(every))
            await self._start_platforms()
            self._start_scheduler()
        self.state = "running"
        logger.info("Gateway runtime started")

    async def _start_platforms(self) -> None:
        # platforms → router → runs → runtime: imported here to break the import cycle.
        from gateway.platforms import build_connections

        for conn, spec in await database_sync_to_async(build_connections)():
            name = f"{conn.channel}:{conn.account_id}"
            self.connections[(conn.channel, conn.account_id)] = conn
            await conn.open()
            self.supervisor.add(f"{name}:out", conn.serve)
            listener = spec.listener(conn)
            if listener is not None:
                self.supervisor.add(f"{name}:in", listener)
            else:
                await conn.set_state("webhook")  # waiting for the platform to call us
        self.supervisor.add("resume", self._resume)  # last: it runs once the state is running

    def _start_scheduler(self) -> None:
        """Reminders and heartbeats (after the platforms: a job due at start may need one)."""
        from gateway.scheduler import run_scheduler  # scheduler → runs → runtime

        poll = settings.OPENCLAW_SCHEDULER_POLL_SECONDS
        self.supervisor.add("scheduler", lambda: run_scheduler(poll))

    async def _resume(self) -> None:
        """Deliver what the journal accepted before a crash but never delivered."""
        from gateway.webjournal import resume_web  # webjournal → runs → runtime: a cycle

        for pending in await database_sync_to_async(pending_runs)():
            conn = self.connections.get((pending.channel, pending.account_id))
            if conn is None and pending.channel != "web":
                continue
            try:
                await (resume_web(pending) if conn is None else conn.resume(pending))
            except Exception:
                logger.exception(
                    "Resuming run %s in %s failed", pending.run_id, pending.session_key
                )

    async def _flush_connections(self, grace: float = 5.0) -> None:
        """Let each platform connection deliver the events of the drained runs before its
        task is cancelled: a send cut midway could reach the user without being journaled,
        and the next start would send it again."""
        from gateway.connections import STOP  # connections → runs → runtime: a cycle

        layer = get_channel_layer()
        serving = []
        for conn in self.connections.values():
            entry = self.supervisor.tasks.get(f"{conn.channel}:{conn.account_id}:out")
            if layer is None or entry is None or entry.task is None or not conn.channel_name:
                continue
            await layer.send(conn.channel_name, STOP)  # behind every event already queued
            serving.append(entry.task)
        if serving:
            await asyncio.wait(serving, timeout=grace)

    def connection(self, channel: str, account_id: str) -> "PlatformConnection | None":
        return self.connections.get((channel, account_id)) if self.state == "running" else None

    async def stop(self) -> None:
        if self.state != "running":
            return
        self.state = "stopping"
        assert self._lanes is not None  # noqa: S101  # set by start()
        await self._lanes.drain(settings.OPENCLAW_DRAIN_SECONDS)
        await self._flush_connections()
        await self.supervisor.stop()
        for conn in self.connections.values():
            try:
                await conn.adapter.close()
            except Exception:
                logger.exception("Closing %s:%s failed", conn.channel, conn.account_id)
        self.connections = {}
        if isinstance(self.model, OpenAIChatModel):  # its connections belong to this loop
            await self.model.aclose()
        self.state = "stopped"
        logger.info("Gateway runtime stopped")

    def status(self) -> dict[str, Any]:
        lanes = self._lanes
        channels = {
            f"{c.channel}:{c.account_id}": {"state": c.state, "error": c.last_error}
            for c in self.connections.values()
        }
        return {
            "runtime": self.state,
            "channels": channels,
            "runs_busy": lanes.busy if lanes else 0,
            "runs_queued": lanes.queued if lanes else 0,
            "asyncio_tasks": _asyncio_tasks(),
            "tasks": self.supervisor.report(),
            "broker": self.broker.report(),
        }


def _asyncio_tasks() -> int:
    """Tasks alive on the server's loop (the soak watches it level off); 0 off the loop."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0


runtime = GatewayRuntime()
