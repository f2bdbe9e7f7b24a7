"""Wake events for the agent's next heartbeat (`/hooks/wake` with `mode: next-heartbeat`): held
in this process until the time the agent's heartbeat is next due, then routed into its main
session like `mode: now` events (while one waits for its turn the others join it, following the
session's queue mode). Held in memory, as OpenClaw holds its system events: a restart forgets
the ones still waiting; once routed they are journaled like every message. Their answers go
where the main session's do: the web chat, and the platform chat it last heard from."""

import asyncio
import logging
from datetime import datetime, timedelta

from django.utils import timezone

from agents import services
from agents.models import ScheduledJob
from gateway import router
from gateway.httpapi.delivery import follow_main_chat
from gateway.httpapi.origins import WAKE_ORIGIN, WAKE_SENDER
from gateway.httpapi.submit import Refused, submit

logger = logging.getLogger(__name__)


_held: dict[str, dict[str, str]] = {}  # agent → idempotency key → text, in arrival order
_due: dict[str, datetime] = {}  # agent → when its held events are routed
_waiters: set[asyncio.Task[None]] = set()


class HeartbeatOff(Exception):
    """The agent has no heartbeat: nothing would answer an event held for it."""


def next_heartbeat(agent: str) -> datetime:
    """When the agent's heartbeat next runs; raises `HeartbeatOff` (or `services.NotFound`)."""
    found = services.get_agent(agent)
    if not found.heartbeat_enabled:
        raise HeartbeatOff(agent)
    job = ScheduledJob.objects.filter(
        agent=found, purpose=ScheduledJob.Purpose.HEARTBEAT, enabled=True
    ).first()
    if job is not None and job.next_run_at is not None:
        return max(job.next_run_at, timezone.now())
    return timezone.now() + timedelta(minutes=found.heartbeat_minutes)  # its job is being made


def message(agent: str, key: str, text: str) -> router.ApiMessage:
    """A wake event as the router takes it: the hook's text in the agent's main session."""
    session = services.main_session_key(agent)
    return router.ApiMessage(
        session, text, key, sender=WAKE_SENDER, channel="hook", origin=WAKE_ORIGIN
    )


def hold(agent: str, key: str, text: str, due: datetime) -> tuple[datetime, bool]:
    """Hold an event until `due` (or the time the agent's held events already wait for);
    returns that time and whether this key was held already (a retried request)."""
    held = _held.setdefault(agent, {})
    duplicate = key in held
    held.setdefault(key, text)
    if agent not in _due:
        _due[agent] = due
        task = asyncio.create_task(_route_when_due(agent), name=f"wake:{agent}")
        _waiters.add(task)
        task.add_done_callback(_waiters.discard)
    return _due[agent], duplicate


async def _route_when_due(agent: str) -> None:
    await asyncio.sleep(max((_due[agent] - timezone.now()).total_seconds(), 0.0))
    _due.pop(agent, None)
    held = _held.pop(agent, {})
    try:
        await follow_main_chat(agent)
    except Exception:  # the web chat still gets the answer
        logger.exception("Following the main chat of %s failed", agent)
    for key, text in held.items():
        try:
            routed = await submit(message(agent, key, text))
        except Exception:
            logger.exception("Routing a wake event for %s failed", agent)
            continue
        if isinstance(routed, Refused):
            logger.warning("Wake event for %s not taken: %s", agent, routed.message)
