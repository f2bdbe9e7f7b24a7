"""Starting and stopping the gateway: the lanes, the platform connections, the job runner and
the other long-lived tasks start with the server and stop on SIGTERM; at start, what the journal
accepted but never delivered is resumed. Imported only by the server (and tests): everything
else reads the live state in `gateway.state`.

`start()` and `stop()` run on the server's asyncio loop (the `gateway` command hooks them into
Daphne's reactor).
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from agents.llm_chat import ProviderChatModel
from agents.mcp import runtime as mcp_runtime
from agents.services import ensure_workspaces
from gateway import journal
from gateway.connections import running, running_all
from gateway.events import STOP
from gateway.job_runner import run_scheduler
from gateway.lanes import Lanes
from gateway.platforms import build_connections
from gateway.resume import pending_runs, resume_web
from gateway.state import runtime
from gateway.supervisor import Supervisor
from gateway.worker import TASK_NAME as WORKER_TASK
from gateway.worker import EmbeddedWorker
from memory.sync import watch_memory

logger = logging.getLogger(__name__)


_worker: EmbeddedWorker | None = None


async def start(*, background: bool = True, worker: bool = False) -> None:
    """Start the lanes and, unless `background` is False (tests), the long-lived tasks; with
    `worker`, also the embedded Celery worker with beat (gateway.worker)."""
    global _worker
    if runtime.state != "stopped":
        return
    runtime.state = "starting"
    _worker = None
    runtime.open_lanes = Lanes(
        max_concurrent=settings.OPENCLAW_MAX_CONCURRENT_RUNS,
        backstop_seconds=settings.OPENCLAW_RUN_DEADLINE + 30,
    )
    runtime.supervisor = supervisor = Supervisor()
    if background:
        interval = settings.OPENCLAW_MEMORY_SCAN_SECONDS
        supervisor.add("memory-watch", lambda: watch_memory(interval))
        every = settings.OPENCLAW_BROKER_CHECK_SECONDS
        supervisor.add("broker-watch", lambda: runtime.broker.watch(every))
        await _start_platforms(supervisor)
        # After the platforms: a job due at start may need one.
        poll = settings.OPENCLAW_SCHEDULER_POLL_SECONDS
        supervisor.add("scheduler", lambda: run_scheduler(poll))
        if worker:
            _worker = EmbeddedWorker()
            supervisor.add(WORKER_TASK, _worker.run)
    runtime.state = "running"
    if background and isinstance(runtime.model, ProviderChatModel):
        # The SDK loads once the gateway serves: the first turn need not wait for it.
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, _warm_model, runtime.model, settings.OPENCLAW_MODEL)
    logger.info("Gateway runtime started")


_warming: set[asyncio.Task[None]] = set()


def _warm_model(model: ProviderChatModel, model_id: str) -> None:
    task = asyncio.ensure_future(model.warm(model_id))
    _warming.add(task)
    task.add_done_callback(_warming.discard)


async def _start_platforms(supervisor: Supervisor) -> None:
    await database_sync_to_async(ensure_workspaces)()  # agents made since, however made
    await database_sync_to_async(ensure_workspaces)()  # agents made since, however made
    for conn, spec in await database_sync_to_async(build_connections)():
        name = f"{conn.channel}:{conn.account_id}"
        runtime.connections[(conn.channel, conn.account_id)] = conn
        await conn.open()
        supervisor.add(f"{name}:out", conn.serve)
        listener = spec.listener(conn)
        if listener is not None:
            supervisor.add(f"{name}:in", listener)
        else:
            await conn.set_state("webhook")  # waiting for the platform to call us
    supervisor.add("resume", _resume)  # last: it runs once the state is running


async def _resume() -> None:
    """Deliver what the journal accepted before a crash but never delivered."""
    for pending in await database_sync_to_async(pending_runs)():
        if pending.channel == journal.SCHEDULE:  # its job moved on when claimed: never twice
            await database_sync_to_async(journal.close_scheduled)(pending.records)
            continue
        conn = running(pending.channel, pending.account_id)
        if conn is None and pending.channel != journal.WEB:
            continue
        try:
            await (resume_web(pending) if conn is None else conn.resume(pending))
        except Exception:
            logger.exception("Resuming run %s in %s failed", pending.run_id, pending.session_key)


async def _flush_connections(grace: float = 5.0) -> None:
    """Let each platform connection deliver the events of the drained runs before its task is
    cancelled: a send cut midway could reach the user without being journaled, and the next
    start would send it again."""
    layer = get_channel_layer()
    serving = []
    for conn in running_all():
        entry = runtime.supervisor.tasks.get(f"{conn.channel}:{conn.account_id}:out")
        if layer is None or entry is None or entry.task is None or not conn.channel_name:
            continue
        await layer.send(conn.channel_name, STOP)  # behind every event already queued
        serving.append(entry.task)
    if serving:
        await asyncio.wait(serving, timeout=grace)


async def stop() -> None:
    """Refuse new runs, drain the lanes (OPENCLAW_DRAIN_SECONDS), deliver what they produced,
    then stop the long-lived tasks and close the platform clients."""
    if runtime.state != "running":
        return
    runtime.state = "stopping"
    assert runtime.open_lanes is not None  # noqa: S101  # set by start()
    await runtime.open_lanes.drain(settings.OPENCLAW_DRAIN_SECONDS)
    await _flush_connections()
    if _worker is not None:  # its warm shutdown may take longer than the supervisor waits
        await _worker.stop()
    await runtime.supervisor.stop()
    for conn in running_all():
        try:
            await conn.adapter.close()
        except Exception:
            logger.exception("Closing %s:%s failed", conn.channel, conn.account_id)
    runtime.connections = {}
    await mcp_runtime.shutdown()  # after the drain: no turn calls a tool any more
    if isinstance(runtime.model, ProviderChatModel):  # its connections belong to this loop
        await runtime.model.aclose()
    runtime.state = "stopped"
    logger.info("Gateway runtime stopped")
