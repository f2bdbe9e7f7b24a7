"""Session lanes: one run at a time per session, sessions in parallel, bounded overall.

A lane is a FIFO of runs plus one worker task that exists only while the lane has work, so idle
sessions cost nothing. Whatever a run does (returns, raises, hangs past its deadline, is
cancelled) the worker moves on: a lane is always released. Messages that arrive while a run is
busy follow the session's queue mode (collect, followup, steer, interrupt).
"""

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

logger = logging.getLogger(__name__)


class Job(Protocol):
    """A unit of work on a lane. `run` MAY take long and MUST handle its own errors;
    `skip` is called instead of `run` when the job is dropped before it started (abort or
    shutdown) and MUST tell whoever waits for it."""

    @property
    def run_id(self) -> str: ...

    async def run(self) -> None: ...

    async def skip(self, reason: str) -> None: ...

    @property
    def answered(self) -> bool:
        """True once the job's last answer went out and only its bookkeeping is left: an abort
        (`/stop`, `chat.abort`) leaves it to finish and does not count it."""
        ...

    def absorb(self, other: "Job") -> bool:
        """Take `other`'s messages into this queued job (collect); False if it cannot."""
        ...

    def steer(self, other: "Job") -> bool:
        """Hand `other`'s messages to this running job; False once it can no longer use them."""
        ...


QueueMode = Literal["collect", "followup", "steer", "interrupt"]
Disposition = Literal["queued", "merged", "steered", "interrupted"]


class LanesClosed(RuntimeError):
    """The gateway is stopping and takes no new runs."""


@dataclass
class _Lane:
    queue: deque[Job] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    current: Job | None = None


class Lanes:
    def __init__(self, *, max_concurrent: int, backstop_seconds: float) -> None:
        self._lanes: dict[str, _Lane] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max_concurrent)
        self._backstop = backstop_seconds
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def busy(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return sum(len(lane.queue) for lane in self._lanes.values())

    def submit(
        self, key: str, job: Job, *, mode: QueueMode = "followup", cap: int = 20
    ) -> tuple[str, Disposition]:
        """Queue `job` on its session's lane; returns the run that will carry its messages
        (its own, or the one it joined) and what happened to it."""
        if self._closed:
            raise LanesClosed("The gateway is shutting down.")
        lane = self._lanes.setdefault(key, _Lane())
        running = lane.current
        disposition: Disposition = "queued"
        if mode == "interrupt" and (running is not None or lane.queue):
            self.abort_session(key)
            disposition = "interrupted"
        elif mode == "steer" and running is not None and running.steer(job):
            return running.run_id, "steered"
        elif lane.queue and (mode == "collect" or len(lane.queue) >= cap):
            # Past the cap even `followup` folds into the last queued turn: nothing is dropped.
            last = lane.queue[-1]
            if last.absorb(job):
                return last.run_id, "merged"
        lane.queue.append(job)
        self._idle.clear()
        if lane.worker is None:
            lane.worker = asyncio.create_task(self._work(key, lane), name=f"lane:{key}")
        return job.run_id, disposition

    def abort_session(self, key: str) -> int:
        """Cancel the running run of a session and drop its queued ones; returns how many."""
        lane = self._lanes.get(key)
        if lane is None:
            return 0
        count = 0
        while lane.queue:
            job = lane.queue.popleft()
            skipped = asyncio.create_task(job.skip("aborted"))
            skipped.add_done_callback(_log_failure)
            count += 1
        if lane.current is not None and self.abort(lane.current.run_id):
            count += 1
        return count

    def _answered(self, run_id: str) -> bool:
        return any(
            lane.current is not None and lane.current.run_id == run_id and lane.current.answered
            for lane in self._lanes.values()
        )

    def abort(self, run_id: str) -> bool:
        """Cancel a running run or drop a queued one; False when the run is unknown or done."""
        task = self._running.get(run_id)
        if task is not None:
            if task.done() or self._answered(run_id):
                return False  # its answer is out: nothing left to stop
            task.cancel()
            return True
        for lane in self._lanes.values():
            for job in lane.queue:
                if job.run_id == run_id:
                    lane.queue.remove(job)
                    skipped = asyncio.create_task(job.skip("aborted"))
                    skipped.add_done_callback(_log_failure)
                    return True
        return False

    async def _work(self, key: str, lane: _Lane) -> None:
        try:
            while lane.queue:
                job = lane.queue.popleft()
                async with self._slots:
                    task = asyncio.create_task(job.run(), name=f"run:{job.run_id}")
                    self._running[job.run_id] = task
                    lane.current = job
                    try:
                        await self._await_run(job.run_id, task)
                    finally:
                        lane.current = None
                        self._running.pop(job.run_id, None)
        finally:
            lane.worker = None
            if not lane.queue:
                self._lanes.pop(key, None)
            if not self._lanes:
                self._idle.set()

    async def _await_run(self, run_id: str, task: asyncio.Task[None]) -> None:
        try:
            done, _ = await asyncio.wait({task}, timeout=self._backstop)
        except asyncio.CancelledError:  # the worker itself is being torn down
            task.cancel()
            raise
        if not done:
            logger.error("Run %s passed the lane backstop; cancelling it", run_id)
            task.cancel()
            await asyncio.wait({task}, timeout=5)
        elif not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("Run %s failed", run_id, exc_info=exc)

    async def drain(self, deadline: float) -> None:
        """Take no new runs; let accepted ones finish within `deadline` seconds, then cancel."""
        self._closed = True
        try:
            await asyncio.wait_for(self._idle.wait(), deadline)
            return
        except TimeoutError:
            logger.warning("Drain deadline passed with %d runs in flight; cancelling", self.busy)
        for lane in list(self._lanes.values()):
            while lane.queue:
                await lane.queue.popleft().skip("shutdown")
        for task in list(self._running.values()):
            task.cancel()
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        await asyncio.wait(workers, timeout=5) if workers else None


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("Skipping a run failed", exc_info=task.exception())
