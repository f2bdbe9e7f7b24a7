"""Wake events for the agent's next heartbeat (`/hooks/wake` with `mode: next-heartbeat`). The
router journals and admits one at once, with the time the agent's heartbeat is next due as the
time it is received (`ApiMessage.due`), and queues nothing; this module runs the held entries in
the agent's main session at that time, like `mode: now` events (held together, they become one
turn when the session's queue mode is `collect`). A restart before then holds them again
(`rearm`, from `gateway.resume`); one after it answers them at the start, once. Their answers go
where the main session's do: the web chat, and the platform chat it last heard from."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django.utils import timezone

from agents import services
from agents.models import ScheduledJob
from gateway import journal, router, runs
from gateway.httpapi.main_chat import follow_main_chat
from gateway.httpapi.origins import WAKE_ORIGIN, WAKE_SENDER
from gateway.lanes import LanesClosed

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Held:
    """A journaled wake event waiting for its time: its entry, the run it was given, its text."""

    record: int
    run: str
    text: str


_held: dict[tuple[str, datetime], list[Held]] = {}  # (agent, due) → its events, in order
_waiters: set[asyncio.Task[None]] = set()


class HeartbeatOff(Exception):
    """The agent has no heartbeat: nothing would answer an event held for it."""


def next_due(agent: str) -> datetime:
    """When an event held now is answered: with the agent's events already waiting, else at
    its heartbeat's next run. Raises `HeartbeatOff` (or `services.NotFound`)."""
    found = services.get_agent(agent)
    if not found.heartbeat_enabled:
        raise HeartbeatOff(agent)
    now = timezone.now()
    waiting = [due for slug, due in list(_held) if slug == agent and due > now]
    if waiting:
        return min(waiting)
    job = ScheduledJob.objects.filter(
        agent=found, purpose=ScheduledJob.Purpose.HEARTBEAT, enabled=True
    ).first()
    if job is not None and job.next_run_at is not None:
        return max(job.next_run_at, now)
    return now + timedelta(minutes=found.heartbeat_minutes)  # its job is being made


def message(agent: str, key: str, text: str, due: datetime | None = None) -> router.ApiMessage:
    """A wake event as the router takes it: the hook's text in the agent's main session,
    answered at once or, with `due`, held until then."""
    session = services.main_session_key(agent)
    return router.ApiMessage(
        session, text, key, sender=WAKE_SENDER, channel="hook", origin=WAKE_ORIGIN, due=due
    )


def hold(agent: str, due: datetime, event: Held) -> None:
    """Run the journaled `event` in the agent's main session at `due`."""
    waiting = _held.get((agent, due))
    if waiting is not None:
        if all(e.record != event.record for e in waiting):
            waiting.append(event)
        return
    _held[(agent, due)] = [event]
    task = asyncio.create_task(_run_when_due(agent, due), name=f"wake:{agent}")
    _waiters.add(task)
    task.add_done_callback(_waiters.discard)


def rearm(
    agent: str, due: datetime, records: tuple[int, ...], run: str, texts: tuple[str, ...]
) -> None:
    """At start: held entries whose time has not come yet wait for it again."""
    for record, text in zip(records, texts, strict=True):
        hold(agent, due, Held(record, run, text))


async def _run_when_due(agent: str, due: datetime) -> None:
    await asyncio.sleep(max((due - timezone.now()).total_seconds(), 0.0))
    held = _held.pop((agent, due), [])
    try:
        await follow_main_chat(agent)
    except Exception:  # the web chat still gets the answer
        logger.exception("Following the main chat of %s failed", agent)
    try:
        session = await runs.open_session(None, agent)
    except services.NotFound:
        logger.warning("Agent %s is gone; its held wake events stay unanswered", agent)
        return
    for event in held:
        try:
            accepted = await runs.submit_chat(
                session,
                event.text,
                channel="hook",
                records=(event.record,),
                run_id=event.run,
                sender=WAKE_SENDER,
                origin=WAKE_ORIGIN,
            )
        except LanesClosed:  # stopping: the entries stay open, the next start answers them
            return
        except Exception:
            logger.exception("Running a wake event for %s failed", agent)
            continue
        if accepted.run != event.run:  # folded into a queued turn
            await database_sync_to_async(journal.set_run)(event.record, accepted.run)
