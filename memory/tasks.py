"""Celery tasks of the memory app: work that may run late and twice without harm. Each takes
ids (slugs, ISO dates) and calls one service; beat schedules them (memory.beat_schedules).
The nightly retention task, which also prunes the gateway's journal, lives in gateway.tasks."""

import datetime as dt
import logging

from celery import shared_task

from memory import curation, services
from memory.sync import agent_today, resolve_agent, sync_all

logger = logging.getLogger(__name__)


@shared_task(name="memory.reindex", ignore_result=True)
def reindex_memory(agent_slug: str | None = None) -> int:
    """Sync from disk and rebuild the search chunks of one agent (or all); idempotent."""
    return services.reindex(agent_slug)


@shared_task(name="memory.sync", ignore_result=True)
def sync_memory() -> int:
    """Pick up every memory file changed on disk; returns how many files changed."""
    return sum(len(report.changed) for report in sync_all())


@shared_task(name="memory.check", ignore_result=True)
def check_memory() -> dict[str, int]:
    """Consistency check: bring every row in line with its file and report what differed
    (changed on disk behind the gateway's back, or gone). Returns the counts."""
    changed = missing = 0
    for report in sync_all():
        changed += len(report.changed)
        missing += len(report.missing)
        if report.changed:
            logger.info("Memory of %s changed on disk: %s", report.agent, report.changed)
        if report.missing:
            logger.warning("Memory files of %s are missing: %s", report.agent, report.missing)
    return {"changed": changed, "missing": missing}


@shared_task(name="memory.curate", ignore_result=True)
def curate(agent_slug: str, day_iso: str) -> int | None:
    """Curate one agent's day (YYYY-MM-DD); returns the run id (None: nothing to curate)."""
    run = curation.curate(agent_slug, dt.date.fromisoformat(day_iso))
    return None if run is None else run.pk


@shared_task(name="memory.curate_yesterday", ignore_result=True)
def curate_yesterday(agent_slug: str) -> int | None:
    """The nightly schedule: curate yesterday in the agent's time zone."""
    yesterday = agent_today(resolve_agent(agent_slug)) - dt.timedelta(days=1)
    return curate(agent_slug, yesterday.isoformat())
