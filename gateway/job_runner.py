"""The job runner: a supervised task that runs due scheduled jobs (reminders, scheduled turns,
heartbeats) as turns, through the router like every message, and delivers the answers: to the
web chat sockets of the session, and to the platform chat the session talks in.

A job is claimed (its next run moved on) before it runs: a crash never runs it twice, and a job
missed while the gateway was down runs once at start. Errors are recorded on the job; they
never stop the runner. Reminders never go through Celery: they must arrive on time.
"""

import asyncio
import logging
from dataclasses import astuple, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from agents import scheduled_jobs as jobs
from agents import services
from agents.models import ScheduledJob
from agents.scheduled_jobs import DueJob
from agents.services import SessionRef
from agents.transcripts import append_entries_async, make_entry
from agents.turn_events import EventSink
from agents.workspace import read_file_cached
from gateway import router
from gateway.events import LayerSink
from gateway.journal import SCHEDULE
from gateway.messages import ReplyTarget
from gateway.models import InboundRecord
from gateway.state import runtime

logger = logging.getLogger(__name__)

Status = ScheduledJob.Status
END_EVENTS = frozenset({"chat.final", "chat.error"})
# Reached through the session's sockets only (SCHEDULE: the journal entries of scheduled turns).
LOCAL_CHANNELS = ("web", "heartbeat", "agent", SCHEDULE)


class JobFailed(Exception):
    """A job that cannot run now (its chat is not connected, its session is gone)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The platform chat a session's answers go to."""

    channel: str
    account_id: str
    chat_id: str
    thread_id: str


async def run_scheduler(poll_seconds: float) -> None:
    """Run due jobs until cancelled; wakes at the next due time, or after `poll_seconds` to
    see jobs added or changed meanwhile."""
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            await tick(running)
            await asyncio.sleep(await _pause(poll_seconds))
    finally:
        for task in running:
            task.cancel()


async def tick(running: set[asyncio.Task[None]] | None = None) -> list[asyncio.Task[None]]:
    """Sync heartbeats, claim the due jobs and start each; returns the started tasks."""
    if runtime.state != "running":  # stopping: leave due jobs for the next start
        return []
    now = timezone.now()
    await database_sync_to_async(jobs.sync_heartbeats)(now)
    due: list[DueJob] = await database_sync_to_async(jobs.claim_due)(now)
    started = []
    for job in due:
        task = asyncio.create_task(fire(job), name=f"scheduled-job:{job.pk}")
        started.append(task)
        if running is not None:
            running.add(task)
            task.add_done_callback(running.discard)
    return started


async def _pause(poll_seconds: float) -> float:
    following: datetime | None = await database_sync_to_async(jobs.next_due_at)()
    if following is None:
        return poll_seconds
    wait = (following - timezone.now()).total_seconds()
    return min(max(wait, 0.05), poll_seconds)


async def fire(job: DueJob) -> None:
    """Run one claimed job to its end and record the outcome; never raises."""
    run_id = ""
    try:
        status, run_id, error = await _fire(job)
    except JobFailed as exc:
        status, error = Status.ERROR, str(exc)
        logger.warning("Scheduled job %s not run: %s", job.pk, exc)
    except Exception as exc:
        status, error = Status.ERROR, f"{type(exc).__name__}: {exc}"
        logger.exception("Scheduled job %s failed", job.pk)
    await database_sync_to_async(jobs.finish_run)(job.pk, status, run_id=run_id, error=error)


async def _fire(job: DueJob) -> tuple[str, str, str]:
    """(status, run id, error) of one run."""
    heartbeat = job.purpose == ScheduledJob.Purpose.HEARTBEAT
    if heartbeat:
        checklist = await asyncio.to_thread(
            read_file_cached, Path(job.workspace) / jobs.HEARTBEAT_FILE
        )
        text = jobs.heartbeat_prompt(checklist)
        if text is None:
            return Status.SKIPPED, "", f"{jobs.HEARTBEAT_FILE} is empty: nothing to check."
    else:
        text = jobs.reminder_prompt(job.text)
    delivery = await database_sync_to_async(_delivery)(job)
    if delivery is not None:
        connection = runtime.connection(delivery.channel, delivery.account_id)
        if connection is None:
            raise JobFailed(f"{delivery.channel}:{delivery.account_id} is not running.")
        target = ReplyTarget(delivery.chat_id, delivery.thread_id)
        await connection.follow(job.delivery_key, target)
    main = await _open(job.delivery_key, "web", "") if heartbeat else None
    sink = JobSink(LayerSink.of(job.session_key), report_to=main)
    try:
        routed = await router.route(router.ScheduledMessage(job, text, sink))
    except services.NotFound as exc:
        raise JobFailed(str(exc)) from None
    if routed.outcome != "accepted":
        return Status.SKIPPED, "", "This run of the job was already taken."
    run_id = routed.run
    deadline = settings.OPENCLAW_RUN_DEADLINE + 60
    event, data = await asyncio.wait_for(asyncio.shield(sink.ended), deadline)
    if event == "chat.error":
        return Status.ERROR, run_id, str(data.get("message", "The run failed."))
    if data.get("stop_reason") == "aborted":
        return Status.ERROR, run_id, "The run was aborted."
    if heartbeat and not sink.reported:
        return Status.SUPPRESSED, run_id, ""
    return Status.OK, run_id, ""


async def _open(key: str, channel: str, peer: str) -> SessionRef:
    session: SessionRef
    try:
        session, _ = await database_sync_to_async(services.open_session)(
            key, channel=channel, peer=peer, is_group=":group:" in key
        )
    except services.NotFound as exc:
        raise JobFailed(str(exc)) from None
    return session


def _delivery(job: DueJob) -> Delivery | None:
    """Where the answer goes besides the web chat: the job's platform chat, else the chat the
    delivery session last heard from (remembered on a reminder job); None: web chat only."""
    if job.account_id and job.chat_id and job.channel not in LOCAL_CHANNELS:
        return Delivery(job.channel, job.account_id, job.chat_id, job.thread_id)
    record = (
        InboundRecord.objects.filter(session_key=job.delivery_key)
        .exclude(channel__in=LOCAL_CHANNELS)
        .order_by("-received_at", "-pk")
        .first()
    )
    if record is None:
        return None
    found = Delivery(record.channel, record.account_id, record.chat_id, record.thread_id)
    if job.purpose == ScheduledJob.Purpose.REMINDER:
        jobs.note_delivery(job.pk, *astuple(found))
    return found


class JobSink:
    """Passes a scheduled turn's events on to its session, and resolves `ended` with the last
    one. With `report_to` (a heartbeat), the answer also goes to that session, unless it is
    HEARTBEAT_OK: then nothing is delivered."""

    def __init__(self, inner: EventSink, *, report_to: SessionRef | None = None) -> None:
        self.inner = inner
        self.report_to = report_to
        self.reported = False
        self.ended: asyncio.Future[tuple[str, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        try:
            await self.inner.emit(event, data)
            if self.report_to is not None and event == "chat.final":
                await self._report(data)
        finally:
            if event in END_EVENTS and not self.ended.done():
                self.ended.set_result((event, data))

    async def _report(self, data: dict[str, Any]) -> None:
        assert self.report_to is not None  # noqa: S101  # checked by the caller
        text = jobs.heartbeat_reply(str(data.get("text", "")))
        if not text or data.get("stop_reason") in ("aborted", "no_reply"):
            return
        main = self.report_to
        # Kept in the main session too, so a reply to it has the context.
        entry = make_entry(
            "message", role="assistant", content=text, run=data["run"], meta={"heartbeat": True}
        )
        await append_entries_async(Path(main.transcript), [entry])
        shown = {**data, "session": main.key, "text": text}
        await LayerSink.of(main.key).emit("chat.final", shown)
        self.reported = True
